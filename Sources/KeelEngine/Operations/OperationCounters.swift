import Synchronization

/// What this process's engine did, counted for Prometheus: steps claimed, stale steps reclaimed,
/// steps dead-lettered.
public final class OperationCounters: Sendable {
    public struct Snapshot: Sendable, Hashable {
        public var claims = 0
        public var reclaims = 0
        public var deadLetters = 0
    }

    private let counts = Mutex(Snapshot())

    public init() {}

    public var snapshot: Snapshot { counts.withLock { $0 } }

    func add(claims: Int = 0, reclaims: Int = 0, deadLetters: Int = 0) {
        counts.withLock {
            $0.claims += claims
            $0.reclaims += reclaims
            $0.deadLetters += deadLetters
        }
    }
}

/// Why an operation on the durable engine was refused.
public enum OperationsError: Error, Sendable, Hashable {
    /// DEV_MODE runs in memory: there is no durable queue to operate.
    case unavailable
    case notFound(kind: String, id: String)
    /// The operation does not apply in the current state.
    case conflict(code: String, message: String)
}
