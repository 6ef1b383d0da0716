import Foundation

/// Who holds a claimed step: the task id and the holder (the claiming worker and attempt, as the
/// control plane issued it; opaque to workers). Every call about a step carries its lease, and
/// the control plane refuses calls whose lease is no longer valid (the task was reclaimed,
/// cancelled or finished): a late worker can never write.
public struct StepLease: Codable, Sendable, Hashable {
    public var taskID: String
    public var workerID: String

    public init(taskID: String, workerID: String) {
        self.taskID = taskID
        self.workerID = workerID
    }
}

/// A step a worker has claimed.
public struct ClaimedStep: Codable, Sendable {
    public var lease: StepLease
    public var sessionID: String
    public var turnID: String
    public var step: TurnStep
    public var progress: TurnProgress
    /// 1 for the first attempt.
    public var attempt: Int

    public init(lease: StepLease, sessionID: String, turnID: String, step: TurnStep, progress: TurnProgress, attempt: Int) {
        self.lease = lease
        self.sessionID = sessionID
        self.turnID = turnID
        self.step = step
        self.progress = progress
        self.attempt = attempt
    }
}

/// Everything one step needs, fetched in one call: the plan (with the decrypted provider key),
/// the conversation so far, and the tool results earlier attempts of this step recorded.
public struct StepContext: Codable, Sendable {
    public var spec: TurnSpec
    public var history: [Message]
    /// `tool.completed` data by tool call id.
    public var recordedToolResults: [String: JSONValue]

    public init(spec: TurnSpec, history: [Message], recordedToolResults: [String: JSONValue]) {
        self.spec = spec
        self.history = history
        self.recordedToolResults = recordedToolResults
    }
}

/// What a finished step hands back: its result events (committed together with the completion,
/// so a step's output is recorded exactly once) and either the next step or the turn's outcome.
public struct StepCompletion: Codable, Sendable {
    public var events: [EventDraft]
    public var next: TurnStep?
    public var progress: TurnProgress
    public var outcome: TurnOutcome?
    /// What the turn now waits for; `next` is the act step to run again once it is in (nothing
    /// is queued until then).
    public var waitingFor: WaitRequest?

    public init(
        events: [EventDraft], next: TurnStep?, progress: TurnProgress, outcome: TurnOutcome?, waitingFor: WaitRequest? = nil
    ) {
        self.events = events
        self.next = next
        self.progress = progress
        self.outcome = outcome
        self.waitingFor = waitingFor
    }
}

/// Pushed to workers so they neither poll hard nor miss a cancel.
public enum StepNotification: Sendable, Hashable {
    /// New steps may be ready to claim.
    case stepsAvailable
    /// The user cancelled this turn: stop its running step now.
    case turnCancelled(turnID: String)
}

public enum StepChannelError: Error, Sendable, Hashable {
    /// The lease is no longer valid: stop the step and discard its result.
    case leaseLost
    /// The control plane refused the worker's credentials.
    case unauthenticated
    /// The control plane cannot be reached (the worker retries).
    case unavailable(String)
}

/// The control plane as an executor sees it: claim steps, load their context, stream events,
/// checkpoint tool results, heartbeat, and complete, fail or hand back. Implemented in-process
/// for embedded executors and over gRPC for `keel worker`.
public protocol StepChannel: Sendable {
    func claim(workerID: String, limit: Int) async throws -> [ClaimedStep]
    /// Refused (`StepChannelError.leaseLost`) unless `step.lease` still holds that step of that
    /// turn and session: the context carries the turn's decrypted provider key.
    func context(for step: ClaimedStep) async throws -> StepContext
    /// Appends live events (deltas, `*.started`) to the session log while the lease is valid.
    func emit(_ events: [EventDraft], sessionID: String, lease: StepLease) async throws
    /// Records one tool's result exactly once, together with its `tool.completed` event.
    func recordToolResult(toolCallID: String, event: EventDraft, sessionID: String, lease: StepLease) async throws
    /// Returns false when the step must stop (lease lost or turn cancelled).
    func heartbeat(_ lease: StepLease) async throws -> Bool
    func complete(_ lease: StepLease, _ completion: StepCompletion) async throws
    /// An attempt failed unexpectedly; the control plane retries it with backoff or dead-letters it.
    func fail(_ lease: StepLease, error: String) async throws
    /// Hands a step back unfinished without using up an attempt (graceful shutdown).
    func release(_ lease: StepLease) async throws
    /// Wake-ups for this worker. The stream ends when the connection drops; callers resubscribe.
    func notifications(workerID: String) -> AsyncThrowingStream<StepNotification, any Error>
    /// The session's files, for the file-system tools of the step `lease` holds: every operation is
    /// refused (`StepChannelError.leaseLost`) unless the lease still holds a step of that session.
    func fileSystem(sessionID: String, lease: StepLease) -> any SessionFileSystem
    /// Records the worker's presence and load; the directive says whether it is being drained.
    func reportWorker(_ report: WorkerReport) async throws -> WorkerDirective
}
