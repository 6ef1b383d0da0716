import Foundation
import KeelCore
import Synchronization

/// One in-memory transaction: a private copy of the turn tables plus the events and notifications
/// it produced, taken over by `InMemoryTurnStore` only when the body returns.
final class InMemoryTurnTransaction: TurnTransaction {
    struct Committed: Sendable {
        var tables: TurnTables
        var events: [Event] = []
        var notifications: [StepNotification] = []
    }

    private let log: any KeelStore
    private let state: Mutex<Committed>

    init(log: any KeelStore, tables: TurnTables) {
        self.log = log
        state = Mutex(Committed(tables: tables))
    }

    var committed: Committed { state.withLock { $0 } }

    private func tables<Result>(_ body: (inout TurnTables) throws -> Result) rethrows -> Result {
        try state.withLock { try body(&$0.tables) }
    }

    // MARK: Sessions and events

    /// The store's lock already serialises every transaction; the session only has to exist (in
    /// the organization).
    func lockSession(_ sessionID: String, organizationID: String) async throws -> Bool {
        try await log.session(id: sessionID, organizationID: organizationID) != nil
    }

    func append(_ drafts: [EventDraft], sessionID: String, organizationID: String) async throws -> [Event] {
        var events: [Event] = []
        for draft in drafts {
            events.append(try await log.appendEvent(sessionID: sessionID, organizationID: organizationID, draft))
        }
        state.withLock { [events] in $0.events += events }
        return events
    }

    func updateSession(id: String, organizationID: String, _ change: @Sendable (inout Session) throws -> Void)
        async throws -> Session
    {
        try await log.updateSession(id: id, organizationID: organizationID, change)
    }

    func agent(id: String, organizationID: String) async throws -> Agent? {
        try await log.agent(id: id, organizationID: organizationID)
    }

    func providers(organizationID: String) async throws -> [LLMProvider] {
        try await log.listProviders(organizationID: organizationID)
    }

    func notify(_ notification: StepNotification) async throws {
        state.withLock { $0.notifications.append(notification) }
    }

    // MARK: Turns

    func queuedTurnCount(sessionID: String) async throws -> Int {
        tables { $0.turns.values.count { $0.sessionID == sessionID && $0.status == .queued } }
    }

    func hasRunningTurn(sessionID: String) async throws -> Bool {
        tables { $0.turns.values.contains { $0.sessionID == sessionID && $0.status == .running } }
    }

    func insertQueuedTurn(_ turnID: String, sessionID: String, input: Message, inputSequence: Int) async throws {
        tables {
            $0.turns[turnID] = TurnTables.Turn(
                id: turnID, sessionID: sessionID, inputMessageID: input.id, inputSequence: inputSequence, input: input,
                status: .queued)
        }
    }

    func markRunning(_ turnID: String, spec: TurnSpec, progress: TurnProgress) async throws {
        tables { tables in
            tables.turns[turnID]?.status = .running
            tables.turns[turnID]?.spec = spec
            tables.turns[turnID]?.progress = progress
        }
    }

    func nextQueuedTurn(sessionID: String) async throws -> (turnID: String, input: Message)? {
        tables { tables in
            tables.turns.values.filter { $0.sessionID == sessionID && $0.status == .queued }
                .min { $0.inputSequence < $1.inputSequence }
                .map { ($0.id, $0.input) }
        }
    }

    func runningTurn(sessionID: String) async throws -> RunningTurn? {
        tables { tables in
            tables.turns.values.first { $0.sessionID == sessionID && $0.status == .running }.map {
                RunningTurn(turnID: $0.id, inputMessageID: $0.inputMessageID, model: $0.spec?.model ?? "", progress: $0.progress)
            }
        }
    }

    func cancelQueuedTurns(sessionID: String) async throws {
        tables { $0.turns = $0.turns.filter { !($0.value.sessionID == sessionID && $0.value.status == .queued) } }
    }

    /// An ended turn is dropped with its recorded tool results.
    func endTurn(_ turnID: String, status: TurnStatus, progress: TurnProgress) async throws {
        tables { _ = $0.turns.removeValue(forKey: turnID) }
    }

    func saveProgress(turnID: String, _ progress: TurnProgress) async throws {
        tables { tables in
            tables.turns[turnID]?.progress = progress
            tables.turns[turnID]?.reclaimsWithoutProgress = 0
        }
    }

    func resetNoProgress(turnID: String) async throws {
        tables { $0.turns[turnID]?.reclaimsWithoutProgress = 0 }
    }

    func countReclaim(turnID: String) async throws -> Int {
        tables { tables in
            tables.turns[turnID]?.reclaimsWithoutProgress += 1
            return tables.turns[turnID]?.reclaimsWithoutProgress ?? 1
        }
    }

    // MARK: Steps

    func enqueue(_ step: TurnStep, turnID: String, sessionID: String, progress: TurnProgress, maxAttempts: Int)
        async throws
    {
        tables { tables in
            tables.nextOrder += 1
            let task = TurnTables.Task(
                id: PublicID.make(.task), turnID: turnID, sessionID: sessionID, step: step, progress: progress,
                maxAttempts: maxAttempts, order: tables.nextOrder)
            tables.tasks[task.id] = task
        }
    }

    func cancelTasks(turnID: String) async throws {
        tables { $0.tasks = $0.tasks.filter { $0.value.turnID != turnID } }
    }

    func leasedTask(_ lease: StepLease, exclusive: Bool) async throws -> LeasedTask? {
        tables { tables in tables.task(holding: lease).flatMap { tables.leased($0) } }
    }

    func staleTask(_ taskID: String, threshold: Duration) async throws -> (task: LeasedTask, holder: String?)? {
        let cutoff = Date().addingTimeInterval(-threshold.inSeconds)
        return tables { tables in
            guard let task = tables.tasks[taskID], task.status == .claimed, task.heartbeatAt < cutoff,
                let leased = tables.leased(task)
            else { return nil }
            return (leased, task.claimedBy)
        }
    }

    /// A finished step is dropped.
    func completeTask(_ taskID: String) async throws {
        tables { _ = $0.tasks.removeValue(forKey: taskID) }
    }

    func retryTask(_ taskID: String, error: String, after delay: Duration) async throws {
        tables { tables in
            tables.tasks[taskID]?.status = .pending
            tables.tasks[taskID]?.claimedBy = nil
            tables.tasks[taskID]?.lastError = error
            tables.tasks[taskID]?.visibleAt = Date().addingTimeInterval(delay.inSeconds)
        }
    }

    func releaseTask(_ taskID: String) async throws {
        tables { tables in
            tables.tasks[taskID]?.status = .pending
            tables.tasks[taskID]?.claimedBy = nil
            tables.tasks[taskID]?.attempt -= 1
            tables.tasks[taskID]?.visibleAt = Date()
        }
    }

    func requeueStaleTask(_ taskID: String, error: String) async throws {
        tables { tables in
            tables.tasks[taskID]?.status = .pending
            tables.tasks[taskID]?.claimedBy = nil
            tables.tasks[taskID]?.lastError = error
            tables.tasks[taskID]?.visibleAt = Date()
        }
    }

    /// DEV_MODE keeps no dead-letter table: the step is dropped (the log records why).
    func deadLetterTask(_ taskID: String, _ task: LeasedTask, reason: String, error: String?) async throws {
        tables { _ = $0.tasks.removeValue(forKey: taskID) }
    }

    /// DEV_MODE keeps no dead letters (a dead task is dropped with its ended turn).
    func deadTask(_ taskID: String) async throws -> LeasedTask? { nil }

    func requeueDeadTask(_ taskID: String, turnID: String, progress: TurnProgress) async throws {
        throw OperationsError.unavailable
    }

    func turnWait(turnID: String) async throws -> TurnWait? {
        tables { $0.turns[turnID]?.wait }
    }

    func setTurnWait(turnID: String, _ wait: TurnWait?) async throws {
        tables { $0.turns[turnID]?.wait = wait }
    }

    func insertToolResult(turnID: String, toolCallID: String, taskID: String, data: JSONValue) async throws -> Bool {
        tables { tables in
            guard tables.turns[turnID] != nil, tables.turns[turnID]?.toolResults[toolCallID] == nil else { return false }
            tables.turns[turnID]?.toolResults[toolCallID] = data
            return true
        }
    }
}
