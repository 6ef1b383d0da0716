import KeelCore

/// A run's status as the Agent Protocol reports it, derived from its turn's events.
public enum RunStatus: String, Codable, Sendable, CaseIterable {
    case pending, running, success, error, interrupted
    /// In the protocol's enum but never produced: a Keel turn that overruns fails (`error`).
    case timeout

    public var isFinal: Bool { self != .pending && self != .running }
}

/// A thread's status: `busy` while a run is running, `interrupted` while its turn waits for a
/// person or client, `error` when the last run failed, `idle` otherwise.
public enum ThreadStatus: String, Codable, Sendable, CaseIterable {
    case idle, busy, interrupted, error
}

/// One event of a run's SSE stream, before its id (`<run_id>_event_<n>`) is attached.
public struct StreamPart: Sendable, Hashable {
    public var event: String
    public var data: JSONValue

    public init(event: String, data: JSONValue) {
        self.event = event
        self.data = data
    }
}

