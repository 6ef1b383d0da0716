import Foundation

/// What a step executor tells the control plane about itself: when it starts, every heartbeat
/// interval while it runs, and when it stops. The operations API lists workers from these reports.
public struct WorkerReport: Codable, Sendable, Hashable {
    public enum State: String, Codable, Sendable, Hashable {
        /// Claiming and running steps.
        case running
        /// Shutting down: it claims nothing more and hands back what it cannot finish.
        case stopping
        /// Gone (the last report of a graceful shutdown).
        case stopped
    }

    public var workerID: String
    /// Where the worker runs (`host:pid`, or `embedded@host:pid` for the server's own executors).
    public var address: String
    public var version: String
    /// The worker's `DEPLOYMENT_GRADE`.
    public var grade: String
    public var concurrency: Int
    /// Steps running now.
    public var load: Int
    public var state: State

    public init(
        workerID: String, address: String, version: String, grade: String, concurrency: Int, load: Int,
        state: State
    ) {
        self.workerID = workerID
        self.address = address
        self.version = version
        self.grade = grade
        self.concurrency = concurrency
        self.load = load
        self.state = state
    }
}

/// The control plane's answer to a `WorkerReport`.
public struct WorkerDirective: Codable, Sendable, Hashable {
    /// An operator drains the worker: finish the running steps, claim no new ones.
    public var drain: Bool

    public init(drain: Bool) {
        self.drain = drain
    }

    public static let run = WorkerDirective(drain: false)
}
