import KeelCore
import Synchronization

/// The conversations of recently active sessions, decoded once. Every step sends the model the
/// whole conversation; rebuilding it from the event log each time read and decoded every message
/// again (a tenth of a `sim` turn's CPU at 20 turns, growing with the session). Here a step reads
/// only the log entries after the ones it has, and decodes only those.
///
/// It is safe because the log is append-only with gapless sequences per session, allocated under
/// the session's row lock: a read never sees an entry before an earlier one is visible. Entries are
/// kept per organization and session, and every read still goes to the store with the caller's
/// organization, so the cache never hands one tenant's conversation to another. At most
/// `capacity` sessions are kept; the least recently used goes first. An entry removed by the
/// retention sweep may stay in a cached conversation until the session is evicted.
final class ConversationCache: Sendable {
    /// One log entry as the conversation needs it: its type, its input message, its message.
    struct Record: ConversationRecord, Sendable {
        let type: EventType
        let inputMessageID: String?
        let message: Message?
    }

    private struct Entry {
        var lastSequence: Int
        var records: [Record]
        var lastUse: UInt64
    }

    private struct State {
        var entries: [String: Entry] = [:]
        var clock: UInt64 = 0
    }

    /// The log types a conversation is built from.
    static let sourceTypes = MessageProjection.sourceTypes.union([EventType.turnStarted])

    /// Sessions kept by the engine's cache.
    static let defaultCapacity = 256

    let capacity: Int
    private let state = Mutex(State())

    init(capacity: Int = ConversationCache.defaultCapacity) {
        self.capacity = capacity
    }

    /// The session's conversation records in log order, up to date with the store.
    func records(
        sessionID: String, organizationID: String, store: any KeelStore, failures: EventDecodeFailureReporter
    ) async throws -> [Record] {
        let key = organizationID + "/" + sessionID
        let cached = state.withLock { $0.entries[key] }
        var query = EventQuery(types: Self.sourceTypes)
        query.afterSequence = cached?.lastSequence ?? 0
        let fresh = try await store.events(sessionID: sessionID, organizationID: organizationID, query)
        var records = cached?.records ?? []
        records.reserveCapacity(records.count + fresh.count)
        for event in fresh {
            records.append(
                Record(
                    type: event.type, inputMessageID: event.context.inputMessageID,
                    message: MessageProjection.message(from: event, failures: failures)))
        }
        let lastSequence = fresh.last?.sequence ?? cached?.lastSequence ?? 0
        if capacity > 0 {
            state.withLock { state in
                state.clock += 1
                state.entries[key] = Entry(lastSequence: lastSequence, records: records, lastUse: state.clock)
                if state.entries.count > capacity,
                    let oldest = state.entries.min(by: { $0.value.lastUse < $1.value.lastUse })?.key
                {
                    state.entries.removeValue(forKey: oldest)
                }
            }
        }
        return records
    }

    var count: Int { state.withLock { $0.entries.count } }
}
