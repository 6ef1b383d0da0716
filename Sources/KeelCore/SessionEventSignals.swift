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

    private struct Session {
        var subscribers: [UInt64: AsyncStream<Signal>.Continuation] = [:]
        /// The highest sequence already announced to this session's readers.
        var announced = 0
    }

    private let sessions = Mutex<[String: Session]>([:])
    private let nextToken = Atomic<UInt64>(0)

    public init() {}

    /// A subscription that yields once per wake-up (coalesced) until it is cancelled or dropped.
    public func subscribe(sessionID: String) -> AsyncStream<Signal> {
        let token = nextToken.add(1, ordering: .relaxed).newValue
        let (stream, continuation) = AsyncStream<Signal>.makeStream(bufferingPolicy: .bufferingNewest(1))
        sessions.withLock { $0[sessionID, default: Session()].subscribers[token] = continuation }
        continuation.onTermination = { [weak self] _ in
            self?.sessions.withLock { table in
                table[sessionID]?.subscribers[token] = nil
                if table[sessionID]?.subscribers.isEmpty == true { table[sessionID] = nil }
            }
        }
        return stream
    }

    /// Entries up to `sequence` were appended: wakes the readers unless they already heard of them.
    public func notifyAppended(sessionID: String, through sequence: Int) {
        let targets = sessions.withLock { table -> [AsyncStream<Signal>.Continuation] in
            guard var session = table[sessionID], sequence > session.announced else { return [] }
            session.announced = sequence
            table[sessionID] = session
            return Array(session.subscribers.values)
        }
        for continuation in targets { continuation.yield(.appended) }
    }

    /// Something else changed (a deletion): wakes the readers to check.
    public func notify(sessionID: String) {
        let targets = sessions.withLock { $0[sessionID].map { Array($0.subscribers.values) } ?? [] }
        for continuation in targets { continuation.yield(.changed) }
    }
}
