import Foundation
import Synchronization

/// Fan-out of "new events exist" signals per session. Stores call `notify` after an append;
/// live readers subscribe and re-read the log from their last sequence when woken. The signal
/// carries no payload, so a slow reader can never miss an event: it only coalesces wake-ups.
public final class SessionEventSignals: Sendable {
    private struct Subscriber {
        let continuation: AsyncStream<Void>.Continuation
    }

    private let subscribers = Mutex<[String: [UInt64: Subscriber]]>([:])
    private let nextToken = Atomic<UInt64>(0)

    public init() {}

    /// A subscription that yields once per wake-up (coalesced) until it is cancelled or dropped.
    public func subscribe(sessionID: String) -> AsyncStream<Void> {
        let token = nextToken.add(1, ordering: .relaxed).newValue
        let (stream, continuation) = AsyncStream<Void>.makeStream(bufferingPolicy: .bufferingNewest(1))
        subscribers.withLock { $0[sessionID, default: [:]][token] = Subscriber(continuation: continuation) }
        continuation.onTermination = { [weak self] _ in
            self?.subscribers.withLock { table in
                table[sessionID]?[token] = nil
                if table[sessionID]?.isEmpty == true { table[sessionID] = nil }
            }
        }
        return stream
    }

    public func notify(sessionID: String) {
        let targets = subscribers.withLock { $0[sessionID].map { Array($0.values) } ?? [] }
        for subscriber in targets { subscriber.continuation.yield() }
    }
}
