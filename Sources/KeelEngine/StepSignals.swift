import Foundation
import KeelCore
import Synchronization

/// Fan-out of step notifications to the executors subscribed on this instance (embedded ones and
/// gRPC streams). Fed by the turn store's `listen` (PostgreSQL LISTEN: a step queued or a turn
/// cancelled on any instance reaches every executor).
package final class StepSignals: Sendable {
    private struct State {
        var subscribers: [UInt64: AsyncThrowingStream<StepNotification, any Error>.Continuation] = [:]
        var next: UInt64 = 0
        var finished = false
    }

    private let state = Mutex(State())

    package init() {}

    package func subscribe() -> AsyncThrowingStream<StepNotification, any Error> {
        let (stream, continuation) = AsyncThrowingStream<StepNotification, any Error>.makeStream()
        let token = state.withLock { state -> UInt64? in
            guard !state.finished else { return nil }
            state.next += 1
            state.subscribers[state.next] = continuation
            return state.next
        }
        guard let token else {
            continuation.finish()
            return stream
        }
        continuation.onTermination = { [weak self] _ in
            self?.state.withLock { _ = $0.subscribers.removeValue(forKey: token) }
        }
        return stream
    }

    package func broadcast(_ notification: StepNotification) {
        for continuation in state.withLock({ Array($0.subscribers.values) }) { continuation.yield(notification) }
    }

    /// Ends every subscription (shutdown); later subscriptions end at once.
    package func finishAll() {
        let all = state.withLock { state in
            state.finished = true
            defer { state.subscribers = [:] }
            return Array(state.subscribers.values)
        }
        for continuation in all { continuation.finish() }
    }
}
