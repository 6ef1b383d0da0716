import Foundation
import Synchronization

/// DEV_MODE's breakers: one process, so one mutex.
public final class InMemoryCircuitBreakerStore: CircuitBreakerStore {
    private let states = Mutex<[String: CircuitBreakerState]>([:])

    public init() {}

    public func breaker(key: String) async throws -> CircuitBreakerState? {
        states.withLock { $0[key] }
    }

    public func update<T: Sendable>(
        key: String, organizationID: String?, _ change: @Sendable (inout CircuitBreakerState) -> T
    ) async throws -> (before: CircuitBreakerState, after: CircuitBreakerState, result: T) {
        states.withLock { states in
            let before = states[key] ?? CircuitBreakerState(key: key, organizationID: organizationID, now: Date())
            var after = before
            let result = change(&after)
            states[key] = after
            return (before, after, result)
        }
    }

    public func breakers() async throws -> [CircuitBreakerState] {
        states.withLock { $0.values.sorted { $0.key < $1.key } }
    }
}
