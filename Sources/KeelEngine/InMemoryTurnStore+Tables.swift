import Foundation
import KeelCore

/// The rows of the in-memory turn store: the same turns and steps PostgreSQL keeps in
/// `durable_turns` / `durable_tasks` / `durable_tool_results`, but only while they are live — a
/// turn is dropped when it ends and a step when it completes, dies or is cancelled (nothing reads
/// them afterwards, and DEV_MODE keeps nothing across restarts).
struct TurnTables: Sendable {
    struct Turn: Sendable {
        var id: String
        var sessionID: String
        var inputMessageID: String
        var inputSequence: Int
        var input: Message
        var status: TurnStatus
        var spec: TurnSpec?
        var progress = TurnProgress()
        var reclaimsWithoutProgress = 0
        var toolResults: [String: JSONValue] = [:]
        var wait: TurnWait?
    }

    struct Task: Sendable {
        enum Status: Sendable { case pending, claimed }
        var id: String
        var turnID: String
        var sessionID: String
        var step: TurnStep
        var progress: TurnProgress
        var status: Status = .pending
        var attempt = 0
        var maxAttempts: Int
        var leaseEpoch = 0
        var claimedBy: String?
        var heartbeatAt = Date()
        var visibleAt = Date()
        var createdAt = Date()
        /// Orders steps created in the same instant.
        var order: Int
        var lastError: String?
    }

    var turns: [String: Turn] = [:]
    var tasks: [String: Task] = [:]
    var nextOrder = 0

    /// The task `lease` holds (claimed by that holder), if any.
    func task(holding lease: StepLease) -> Task? {
        guard let task = tasks[lease.taskID], task.status == .claimed, task.claimedBy == lease.workerID else {
            return nil
        }
        return task
    }

    func leased(_ task: Task) -> LeasedTask? {
        guard let turn = turns[task.turnID], let organizationID = organizationID(of: task) else { return nil }
        return LeasedTask(
            turnID: task.turnID, sessionID: task.sessionID, organizationID: organizationID,
            inputMessageID: turn.inputMessageID, kind: task.step.kind, attempt: task.attempt,
            maxAttempts: task.maxAttempts, progress: task.progress)
    }

    /// The organization of the task's session, from its turn's stored plan: steps are queued only
    /// for running turns, which always have one.
    func organizationID(of task: Task) -> String? {
        turns[task.turnID]?.spec?.organizationID
    }

    /// Claims up to `limit` visible pending steps, oldest first, each with a new lease epoch.
    mutating func claim(workerID: String, limit: Int, now: Date) -> [ClaimedStep] {
        let ready = tasks.values
            .filter { $0.status == .pending && $0.visibleAt <= now }
            .sorted { ($0.visibleAt, $0.order) < ($1.visibleAt, $1.order) }
            .prefix(limit)
        return ready.map { ready in
            var task = ready
            task.status = .claimed
            task.leaseEpoch += 1
            task.attempt += 1
            task.claimedBy = "\(workerID)#\(task.leaseEpoch)"
            task.heartbeatAt = now
            tasks[task.id] = task
            return ClaimedStep(
                lease: StepLease(taskID: task.id, workerID: task.claimedBy ?? workerID), sessionID: task.sessionID,
                turnID: task.turnID, step: task.step, progress: task.progress, attempt: task.attempt)
        }
    }

    /// Drops a session's turns and steps (the session was deleted); returns its running turns.
    mutating func removeSession(_ sessionID: String) -> [String] {
        let running = turns.values.filter { $0.sessionID == sessionID && $0.status == .running }.map(\.id)
        turns = turns.filter { $0.value.sessionID != sessionID }
        tasks = tasks.filter { $0.value.sessionID != sessionID }
        return running
    }
}
