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
/// retention sweep may stay in a cached conversation until the session is evicted. Memory is
/// bounded twice: at most `capacity` sessions and about `byteBudget` bytes of cached event data
/// in all (a conversation larger than the budget is read whole each time, as without the cache),
/// so callers who grow many long conversations cannot make the cache hold them all.
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
        /// The estimated JSON size of the records' events.
        var bytes: Int
        var lastUse: UInt64
    }

    private struct State {
        var entries: [String: Entry] = [:]
        var bytes = 0
        var clock: UInt64 = 0

        mutating func remove(_ key: String) {
            if let removed = entries.removeValue(forKey: key) { bytes -= removed.bytes }
        }
    }

    /// The log types a conversation is built from.
    static let sourceTypes = MessageProjection.sourceTypes.union([EventType.turnStarted])

    /// Sessions kept by the engine's cache.
    static let defaultCapacity = 256
    /// Cached event data kept by the engine's cache, in all: 64 MiB.
    static let defaultByteBudget = 64 * 1024 * 1024

    let capacity: Int
    let byteBudget: Int
    private let state = Mutex(State())

    init(capacity: Int = ConversationCache.defaultCapacity, byteBudget: Int = ConversationCache.defaultByteBudget) {
        self.capacity = capacity
        self.byteBudget = byteBudget
    }

    /// The session's conversation records in log order, up to date with the store.
    func records(
        sessionID: String, organizationID: String, store: any KeelStore, failures: EventDecodeFailureReporter
    ) async throws -> [Record] {
        let key = organizationID + "/" + sessionID
        // Taken out while it is brought up to date, so its records array is held once and grows
        // in place (copying it on every step cost time in proportion to the conversation).
        var entry = state.withLock { state -> Entry in
            guard let entry = state.entries.removeValue(forKey: key) else {
                return Entry(lastSequence: 0, records: [], bytes: 0, lastUse: 0)
            }
            state.bytes -= entry.bytes
            return entry
        }
        var query = EventQuery(types: Self.sourceTypes)
        query.afterSequence = entry.lastSequence
        let fresh = try await store.events(sessionID: sessionID, organizationID: organizationID, query)
        for event in fresh {
            entry.records.append(
                Record(
                    type: event.type, inputMessageID: event.context.inputMessageID,
                    message: MessageProjection.message(from: event, failures: failures)))
            entry.bytes += event.data.estimatedJSONSize
        }
        if let last = fresh.last?.sequence { entry.lastSequence = last }
        state.withLock { [entry] state in
            state.remove(key)
            guard capacity > 0, entry.bytes <= byteBudget else { return }
            state.clock += 1
            var kept = entry
            kept.lastUse = state.clock
            state.entries[key] = kept
            state.bytes += kept.bytes
            while state.entries.count > capacity || state.bytes > byteBudget,
                let oldest = state.entries.min(by: { $0.value.lastUse < $1.value.lastUse })?.key
            {
                state.remove(oldest)
            }
        }
        return entry.records
    }

    var count: Int { state.withLock { $0.entries.count } }
    var bytes: Int { state.withLock { $0.bytes } }
}
