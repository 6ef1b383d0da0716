import Foundation
import Synchronization

/// Fan-out of "the session's log changed" signals per session. Stores call `notifyAppended` after
/// an append (with the last sequence it wrote) and `notify` after anything else (a deletion, or an
/// append whose sequence is unknown); live readers subscribe and re-read the log from their last
/// sequence when woken. The signal carries no events, so a slow reader can never miss one: it
/// only coalesces wake-ups.
///
/// An append already announced wakes nobody again: on PostgreSQL every append is announced twice,
/// once in-process and once as the `NOTIFY` echo every instance hears, and each extra wake-up was
/// an empty read of the log.
public final class SessionEventSignals: Sendable {
    /// Why a reader was woken: new entries (read them), or a change to check (the session may be gone).
    public enum Signal: Sendable {
        case appended, changed
    }

    /// A handler's registration; dropping or cancelling it unsubscribes.
    public final class Subscription: Sendable {
        private let end: @Sendable () -> Void
        init(end: @escaping @Sendable () -> Void) { self.end = end }
        public func cancel() { end() }
        deinit { end() }
    }

    /// A handler gets the signal and, for an in-process append, the events themselves (empty when
    /// only their sequence is known, as for another instance's `NOTIFY`).
    public typealias Handler = @Sendable (Signal, [Event]) -> Void

    private struct Session {
        var subscribers: [UInt64: Handler] = [:]
        /// The highest sequence already announced to this session's readers.
        var announced = 0
    }

    private let sessions = Mutex<[String: Session]>([:])
    private let nextToken = Atomic<UInt64>(0)

    public init() {}

    /// A subscription that yields once per wake-up (coalesced) until it is cancelled or dropped.
    public func subscribe(sessionID: String) -> AsyncStream<Signal> {
        let (stream, continuation) = AsyncStream<Signal>.makeStream(bufferingPolicy: .bufferingNewest(1))
        let token = register(sessionID: sessionID) { signal, _ in continuation.yield(signal) }
        continuation.onTermination = { [weak self] _ in self?.unregister(sessionID: sessionID, token: token) }
        return stream
    }

    /// Calls `handler` (on the notifier's thread: keep it short) for each wake-up until the
    /// subscription is cancelled or dropped. No task or buffer of its own: what an idle stream
    /// costs is multiplied by every open stream.
    public func subscribe(sessionID: String, handler: @escaping Handler) -> Subscription {
        let token = register(sessionID: sessionID, handler)
        return Subscription { [weak self] in self?.unregister(sessionID: sessionID, token: token) }
    }

    private func register(sessionID: String, _ handler: @escaping Handler) -> UInt64 {
        let token = nextToken.add(1, ordering: .relaxed).newValue
        sessions.withLock { $0[sessionID, default: Session()].subscribers[token] = handler }
        return token
    }

    private func unregister(sessionID: String, token: UInt64) {
        sessions.withLock { table in
            table[sessionID]?.subscribers[token] = nil
            if table[sessionID]?.subscribers.isEmpty == true { table[sessionID] = nil }
        }
    }

    /// `events` (committed, of one session) were appended here: wakes the readers with them.
    public func notifyAppended(sessionID: String, events: [Event]) {
        guard let last = events.map(\.sequence).max() else { return }
        notifyAppended(sessionID: sessionID, through: last, events: events)
    }

    /// Entries up to `sequence` were appended: wakes the readers unless they already heard of them.
    public func notifyAppended(sessionID: String, through sequence: Int) {
        notifyAppended(sessionID: sessionID, through: sequence, events: [])
    }

    private func notifyAppended(sessionID: String, through sequence: Int, events: [Event]) {
        let targets = sessions.withLock { table -> [Handler] in
            guard var session = table[sessionID], sequence > session.announced else { return [] }
            session.announced = sequence
            table[sessionID] = session
            return Array(session.subscribers.values)
        }
        for handler in targets { handler(.appended, events) }
    }

    /// Something else changed (a deletion): wakes the readers to check.
    public func notify(sessionID: String) {
        let targets = sessions.withLock { $0[sessionID].map { Array($0.subscribers.values) } ?? [] }
        for handler in targets { handler(.changed, []) }
    }
}
