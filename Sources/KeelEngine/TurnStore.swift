import Foundation
import KeelCore

/// Where the engine keeps turns and their steps: PostgreSQL (`PostgresTurnStore`, KeelDurable) or
/// memory (`InMemoryTurnStore`, DEV_MODE). The engine (`TurnControl`) holds every rule —
/// queueing, cancellation, leases, retries, lifecycle events — and runs it against this protocol,
/// so both configurations behave the same.
///
/// Multi-step changes run in `transaction`: all or nothing, and the events appended through the
/// transaction are published (live readers woken, observers fed) by the store after COMMIT, never
/// by a caller. Single operations outside a transaction (`claim`, `appendLive`, …) publish
/// themselves the same way.
///
/// Turns and steps are keyed by their own ids and their session's: nothing reaches them except
/// through a session already found in the caller's organization. What they read or write in the
/// `KeelStore` (the session, its events, its agent) is named with the session's organization,
/// which a step's task carries (`LeasedTask.organizationID`).
public protocol TurnStore: Sendable {
    /// Runs `body` as one transaction; a throw rolls it back (and publishes nothing).
    func transaction<Result: Sendable>(_ body: (any TurnTransaction) async throws -> Result) async throws -> Result

    /// Claims up to `limit` visible pending steps for `workerID` with a fresh lease epoch.
    func claim(workerID: String, limit: Int) async throws -> [ClaimedStep]
    /// Appends one event while `lease` holds a claimed step of `sessionID` (atomically with the
    /// check); false, appending nothing, otherwise.
    func appendLive(_ draft: EventDraft, sessionID: String, lease: StepLease) async throws -> Bool
    /// Records a heartbeat; false when the lease no longer holds.
    func heartbeat(_ lease: StepLease) async throws -> Bool
    /// The step `lease` holds, as stored (never as a caller describes it); nil when the lease is gone.
    func leasedStep(_ lease: StepLease) async throws -> LeasedStep?
    /// The stored plan of a turn (no provider key) and the sequence of its input message.
    func turnSpec(turnID: String) async throws -> (spec: TurnSpec, inputSequence: Int)?
    /// Input message ids of the session's turns queued after the message at `inputSequence`.
    func laterInputMessageIDs(sessionID: String, after inputSequence: Int) async throws -> Set<String>
    /// `tool.completed` data already recorded for these calls of the turn, by call id.
    func toolResults(turnID: String, callIDs: [String]) async throws -> [String: JSONValue]
    /// Claimed steps whose heartbeat is older than `threshold` (oldest first).
    func staleTasks(olderThan threshold: Duration, limit: Int) async throws -> [StaleTask]
    /// Running turns waiting for a client whose deadline is before `now` (oldest deadline first).
    func expiredWaits(now: Date, limit: Int) async throws -> [WaitingTurn]

    /// Hands step notifications (committed by any instance sharing the store) to `deliver` until
    /// the calling task is cancelled.
    func listen(_ deliver: @escaping @Sendable (StepNotification) -> Void) async
    /// Returns once the store can be used (the schema is in place).
    func waitUntilReady() async throws
    /// The session's files as the store keeps them (not yet lease-checked).
    func files(sessionID: String) -> any SessionFileSystem
    /// Frees what the store keeps for a deleted session outside the session's own rows.
    func sessionDeleted(sessionID: String) async
}

/// The operations of one turn-store transaction. Locks are taken in one order everywhere — the
/// session's before a task's — so concurrent cancels, completions and reclaims cannot deadlock.
public protocol TurnTransaction: Sendable {
    /// Locks the session (serialising everything that starts or ends its turns); false when the
    /// session does not exist in the organization.
    func lockSession(_ sessionID: String, organizationID: String) async throws -> Bool
    /// Appends events in order; they are published after COMMIT.
    func append(_ drafts: [EventDraft], sessionID: String, organizationID: String) async throws -> [Event]
    func updateSession(id: String, organizationID: String, _ change: @Sendable (inout Session) throws -> Void)
        async throws -> Session
    func agent(id: String, organizationID: String) async throws -> Agent?
    func providers(organizationID: String) async throws -> [LLMProvider]

    func queuedTurnCount(sessionID: String) async throws -> Int
    func hasRunningTurn(sessionID: String) async throws -> Bool
    func insertQueuedTurn(_ turnID: String, sessionID: String, input: Message, inputSequence: Int) async throws
    /// Marks a queued turn running with its stored plan and fresh progress.
    func markRunning(_ turnID: String, spec: TurnSpec, progress: TurnProgress) async throws
    /// The session's oldest queued turn.
    func nextQueuedTurn(sessionID: String) async throws -> (turnID: String, input: Message)?
    /// The session's running turn, locked.
    func runningTurn(sessionID: String) async throws -> RunningTurn?
    func cancelQueuedTurns(sessionID: String) async throws
    /// Records a turn's end (status and final progress).
    func endTurn(_ turnID: String, status: TurnStatus, progress: TurnProgress) async throws
    /// Stores the progress a completed step reached and resets the no-progress count.
    func saveProgress(turnID: String, _ progress: TurnProgress) async throws
    func resetNoProgress(turnID: String) async throws
    /// Counts one reclaim without progress; returns the count.
    func countReclaim(turnID: String) async throws -> Int

    /// Queues a step (visible at once).
    func enqueue(_ step: TurnStep, turnID: String, sessionID: String, progress: TurnProgress, maxAttempts: Int)
        async throws
    /// Ends every pending or claimed step of the turn (their leases end with them).
    func cancelTasks(turnID: String) async throws
    /// The task `lease` holds, locked: shared (appends) or exclusive (ending the task; the
    /// session's lock is taken first). Nil when the lease no longer holds.
    func leasedTask(_ lease: StepLease, exclusive: Bool) async throws -> LeasedTask?
    /// A claimed task whose heartbeat is older than `threshold`, locked (skipped if locked elsewhere).
    func staleTask(_ taskID: String, threshold: Duration) async throws -> (task: LeasedTask, holder: String?)?
    func completeTask(_ taskID: String) async throws
    /// Returns a task to the queue after a failed attempt, visible after `delay`.
    func retryTask(_ taskID: String, error: String, after delay: Duration) async throws
    /// Returns a task to the queue without using up its attempt (its lease stays invalid).
    func releaseTask(_ taskID: String) async throws
    /// Returns a stale task to the queue at once.
    func requeueStaleTask(_ taskID: String, error: String) async throws
    /// Marks the task dead and records it in the dead letters.
    func deadLetterTask(_ taskID: String, _ task: LeasedTask, reason: String, error: String?) async throws
    /// A dead task not yet requeued, locked (its turn's organization comes from the session).
    func deadTask(_ taskID: String) async throws -> LeasedTask?
    /// Returns a dead task to the queue with fresh attempts and `progress`, reopens its turn as
    /// running, and marks its dead letter requeued.
    func requeueDeadTask(_ taskID: String, turnID: String, progress: TurnProgress) async throws
    /// What the running turn waits for, if it waits.
    func turnWait(turnID: String) async throws -> TurnWait?
    /// Starts, updates or (nil) ends the turn's wait.
    func setTurnWait(turnID: String, _ wait: TurnWait?) async throws

    /// Records one tool result per (turn, call id); false when it was recorded before.
    func insertToolResult(turnID: String, toolCallID: String, taskID: String, data: JSONValue) async throws -> Bool

    /// Sends a notification to every executor after COMMIT.
    func notify(_ notification: StepNotification) async throws
}

public enum TurnStatus: String, Sendable, Hashable, CaseIterable {
    case queued, running, completed, failed, cancelled
}

/// A turn waiting for its client or a person: the act step to run again once every pending call
/// has a result (or decision), and until when they may come. The turn holds no task, worker or
/// connection meanwhile.
public struct TurnWait: Codable, Sendable, Hashable {
    public var step: TurnStep
    /// Every call the turn waits on.
    public var calls: [ToolCall]
    /// The ids of those still without a result (or decision).
    public var pendingCallIDs: [String]
    public var since: Date
    public var deadline: Date
    /// Absent in waits stored before approvals existed: those wait for results.
    public var kind: WaitRequest.Kind?
    /// The `ask_user` calls among `calls`.
    public var questionCallIDs: [String]?

    public init(request: WaitRequest, step: TurnStep, since: Date, deadline: Date) {
        self.step = step
        self.calls = request.calls
        self.pendingCallIDs = request.calls.map(\.id)
        self.since = since
        self.deadline = deadline
        self.kind = request.kind
        self.questionCallIDs = request.questionCallIDs.isEmpty ? nil : request.questionCallIDs
    }

    public var waitsForApproval: Bool { kind == .approval }

    public func isQuestion(_ callID: String) -> Bool { questionCallIDs?.contains(callID) ?? false }

    public func call(_ id: String) -> ToolCall? { calls.first { $0.id == id } }
}

/// A waiting turn as the deadline sweep finds it (before any lock).
public struct WaitingTurn: Sendable, Hashable {
    public var turnID: String
    public var sessionID: String
    public var organizationID: String

    public init(turnID: String, sessionID: String, organizationID: String) {
        self.turnID = turnID
        self.sessionID = sessionID
        self.organizationID = organizationID
    }
}

/// A running turn as cancel sees it.
public struct RunningTurn: Sendable {
    public var turnID: String
    public var inputMessageID: String
    /// The planned model ("" before the turn had a plan).
    public var model: String
    public var progress: TurnProgress

    public init(turnID: String, inputMessageID: String, model: String, progress: TurnProgress) {
        self.turnID = turnID
        self.inputMessageID = inputMessageID
        self.model = model
        self.progress = progress
    }
}

/// The step a lease holds, as stored.
public struct LeasedStep: Sendable {
    public var turnID: String
    public var sessionID: String
    public var step: TurnStep

    public init(turnID: String, sessionID: String, step: TurnStep) {
        self.turnID = turnID
        self.sessionID = sessionID
        self.step = step
    }
}

/// A claimed step whose heartbeat stopped, as reclamation finds it (before any lock).
public struct StaleTask: Sendable, Hashable {
    public var taskID: String
    public var sessionID: String
    /// The session's organization, to lock the session with.
    public var organizationID: String

    public init(taskID: String, sessionID: String, organizationID: String) {
        self.taskID = taskID
        self.sessionID = sessionID
        self.organizationID = organizationID
    }
}

/// A claimed task as the engine sees it when a lease is checked.
public struct LeasedTask: Sendable {
    public var turnID: String
    public var sessionID: String
    /// The session's organization: the task's events and session changes are made in it.
    public var organizationID: String
    public var inputMessageID: String
    public var kind: String
    public var attempt: Int
    public var maxAttempts: Int
    public var progress: TurnProgress
    public var context: EventContext { EventContext(turnID: turnID, inputMessageID: inputMessageID) }

    public init(
        turnID: String, sessionID: String, organizationID: String, inputMessageID: String, kind: String, attempt: Int,
        maxAttempts: Int, progress: TurnProgress
    ) {
        self.turnID = turnID
        self.sessionID = sessionID
        self.organizationID = organizationID
        self.inputMessageID = inputMessageID
        self.kind = kind
        self.attempt = attempt
        self.maxAttempts = maxAttempts
        self.progress = progress
    }
}
