import Foundation
import KeelCore

/// Who an operations read is for: an organization's administrators see their organization's
/// turns, steps and dead letters; platform administrators see everything, workers included.
public enum OperationsScope: Sendable, Hashable {
    case platform
    case organization(String)

    /// The organization a read is limited to; nil for the platform.
    public var organizationID: String? {
        if case .organization(let id) = self { id } else { nil }
    }
}

/// A worker as the operations API shows it.
public struct WorkerRecord: Codable, Sendable, Hashable {
    public enum Status: String, Codable, Sendable, Hashable, CaseIterable {
        /// Reporting and claiming.
        case active
        /// Reporting; an operator drained it, so it claims nothing new.
        case draining
        /// It said goodbye (graceful shutdown).
        case stopped
        /// Its reports stopped without a goodbye (killed, or cut off).
        case lost
    }

    public var id: String
    public var address: String
    public var version: String
    public var grade: String
    public var concurrency: Int
    public var load: Int
    public var status: Status
    public var startedAt: Date
    public var lastHeartbeatAt: Date

    public init(
        id: String, address: String, version: String, grade: String, concurrency: Int, load: Int, status: Status,
        startedAt: Date, lastHeartbeatAt: Date
    ) {
        self.id = id
        self.address = address
        self.version = version
        self.grade = grade
        self.concurrency = concurrency
        self.load = load
        self.status = status
        self.startedAt = startedAt
        self.lastHeartbeatAt = lastHeartbeatAt
    }
}

/// One failed attempt of a step.
public struct StepError: Codable, Sendable, Hashable {
    public var attempt: Int
    public var error: String
    public var at: Date

    public init(attempt: Int, error: String, at: Date) {
        self.attempt = attempt
        self.error = error
        self.at = at
    }
}

/// A durable turn as the operations API shows it.
public struct DurableTurnRecord: Codable, Sendable, Hashable {
    public var id: String
    public var sessionID: String
    public var organizationID: String
    public var inputMessageID: String
    public var status: String
    /// What a running turn waits for (`client_tool_results`, `approval`), if it waits.
    public var waitingFor: String?
    public var createdAt: Date
    public var startedAt: Date?
    public var endedAt: Date?
    public var steps: [DurableTaskRecord]?

    public init(
        id: String, sessionID: String, organizationID: String, inputMessageID: String, status: String,
        waitingFor: String?, createdAt: Date, startedAt: Date?, endedAt: Date?, steps: [DurableTaskRecord]? = nil
    ) {
        self.id = id
        self.sessionID = sessionID
        self.organizationID = organizationID
        self.inputMessageID = inputMessageID
        self.status = status
        self.waitingFor = waitingFor
        self.createdAt = createdAt
        self.startedAt = startedAt
        self.endedAt = endedAt
        self.steps = steps
    }
}

/// A step (one task of the queue) with its attempts and errors.
public struct DurableTaskRecord: Codable, Sendable, Hashable {
    public static let statuses: Set<String> = ["pending", "claimed", "completed", "dead", "cancelled"]

    public var id: String
    public var turnID: String
    public var sessionID: String
    public var organizationID: String
    public var kind: String
    public var status: String
    public var attempt: Int
    public var maxAttempts: Int
    /// The worker that holds the step, or last held it (cleared when a failed attempt is retried).
    public var workerID: String?
    public var lastError: String?
    public var errorHistory: [StepError]
    public var createdAt: Date
    public var visibleAt: Date
    public var claimedAt: Date?
    public var heartbeatAt: Date?
    public var completedAt: Date?

    public init(
        id: String, turnID: String, sessionID: String, organizationID: String, kind: String, status: String,
        attempt: Int, maxAttempts: Int, workerID: String?, lastError: String?, errorHistory: [StepError],
        createdAt: Date, visibleAt: Date, claimedAt: Date?, heartbeatAt: Date?, completedAt: Date?
    ) {
        self.id = id
        self.turnID = turnID
        self.sessionID = sessionID
        self.organizationID = organizationID
        self.kind = kind
        self.status = status
        self.attempt = attempt
        self.maxAttempts = maxAttempts
        self.workerID = workerID
        self.lastError = lastError
        self.errorHistory = errorHistory
        self.createdAt = createdAt
        self.visibleAt = visibleAt
        self.claimedAt = claimedAt
        self.heartbeatAt = heartbeatAt
        self.completedAt = completedAt
    }
}

/// A step that used up its attempts (or was sealed for making no progress), with every error.
public struct DeadLetterRecord: Codable, Sendable, Hashable {
    public var taskID: String
    public var turnID: String
    public var sessionID: String
    public var organizationID: String
    public var kind: String
    public var attempts: Int
    /// `attempts_exhausted` or `no_progress`.
    public var reason: String
    public var lastError: String?
    public var errorHistory: [StepError]
    public var deadAt: Date
    public var requeuedAt: Date?
    public var requeueCount: Int

    public init(
        taskID: String, turnID: String, sessionID: String, organizationID: String, kind: String, attempts: Int,
        reason: String, lastError: String?, errorHistory: [StepError], deadAt: Date, requeuedAt: Date?,
        requeueCount: Int
    ) {
        self.taskID = taskID
        self.turnID = turnID
        self.sessionID = sessionID
        self.organizationID = organizationID
        self.kind = kind
        self.attempts = attempts
        self.reason = reason
        self.lastError = lastError
        self.errorHistory = errorHistory
        self.deadAt = deadAt
        self.requeuedAt = requeuedAt
        self.requeueCount = requeueCount
    }
}

/// The queue at a glance: what the operations API's summary, the monitoring stream's snapshots
/// and the Prometheus gauges show.
public struct QueueSummary: Codable, Sendable, Hashable {
    /// Steps by status (`pending`, `claimed`, `completed`, `dead`, `cancelled`).
    public var tasks: [String: Int]
    /// Turns by status, with `waiting` counting running turns that wait for a client or a person.
    public var turns: [String: Int]
    /// Seconds since the oldest ready pending step became visible (0 when none waits).
    public var oldestPendingAgeSeconds: Double
    /// Seconds since the stalest claimed step's last heartbeat (0 when none is claimed).
    public var oldestClaimedHeartbeatAgeSeconds: Double
    /// Dead letters not requeued.
    public var deadLetters: Int
    /// Workers by status; platform scope only.
    public var workers: [String: Int]?
    /// Circuit breakers by state.
    public var circuitBreakers: [String: Int]?

    public init(
        tasks: [String: Int], turns: [String: Int], oldestPendingAgeSeconds: Double,
        oldestClaimedHeartbeatAgeSeconds: Double, deadLetters: Int, workers: [String: Int]? = nil,
        circuitBreakers: [String: Int]? = nil
    ) {
        self.tasks = tasks
        self.turns = turns
        self.oldestPendingAgeSeconds = oldestPendingAgeSeconds
        self.oldestClaimedHeartbeatAgeSeconds = oldestClaimedHeartbeatAgeSeconds
        self.deadLetters = deadLetters
        self.workers = workers
        self.circuitBreakers = circuitBreakers
    }
}

/// One entry of the operations log: what changed in the durable engine and who changed it (a
/// dead letter, a requeue, a cancel, a drain, a breaker's state). The monitoring stream sends
/// these as its change events; `id` orders them and is the stream's resume cursor.
public struct OperationsEvent: Codable, Sendable, Hashable {
    public var id: Int64
    public var type: String
    /// The organization it concerns; nil for platform events (workers, breakers).
    public var organizationID: String?
    public var data: JSONValue
    public var at: Date

    public init(id: Int64, type: String, organizationID: String?, data: JSONValue, at: Date) {
        self.id = id
        self.type = type
        self.organizationID = organizationID
        self.data = data
        self.at = at
    }

    /// The operations event types.
    public enum Kind {
        public static let deadLettered = "dead_letter.created"
        public static let deadLetterRequeued = "dead_letter.requeued"
        public static let turnCancelled = "turn.cancelled"
        public static let workerDraining = "worker.draining"
        public static let workerResumed = "worker.resumed"
        public static let breakerOpened = "circuit_breaker.opened"
        public static let breakerHalfOpened = "circuit_breaker.half_opened"
        public static let breakerClosed = "circuit_breaker.closed"
        public static let breakerReset = "circuit_breaker.reset"
    }
}
