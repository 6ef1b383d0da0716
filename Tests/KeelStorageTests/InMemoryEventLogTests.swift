import Foundation
import KeelCore
import KeelStorage
import Testing

/// The in-memory event log must stay linear: a long session (tens of thousands of events, e.g.
/// thousands of queued messages) may not make each append or page read cost the whole log.
@Suite("In-memory event log scales", .timeLimit(.minutes(1)))
struct InMemoryEventLogTests {
    @Test("20,000 appends to one session complete in seconds (each append does not copy the log)")
    func appendsStayLinear() async throws {
        let store = InMemoryStore()
        let session = Session()
        try await store.insertSession(session)
        let count = 20_000
        let started = ContinuousClock.now
        for index in 0..<count {
            _ = try await store.appendEvent(
                sessionID: session.id, organizationID: session.organizationID,
                draft(EventType.inputMessage, ["n": .init(index)]))
        }
        let elapsed = ContinuousClock.now - started
        // Copying the log on every append made this quadratic: minutes for 20,000 appends. Linear
        // takes a few seconds in a debug build beside other suites; the bound is loose for that.
        #expect(elapsed < .seconds(20), "20,000 appends took \(elapsed)")
        let last = try await store.events(
            sessionID: session.id, organizationID: session.organizationID, EventQuery(limit: 1, lastN: true))
        #expect(last.map(\.sequence) == [count])
    }

    @Test("forward pages with a limit return every event exactly once, in order")
    func pagesCoverTheLogOnce() async throws {
        let store = InMemoryStore()
        let session = Session()
        try await store.insertSession(session)
        for index in 0..<1_234 {
            let type = index.isMultiple(of: 3) ? EventType.toolCompleted : EventType.inputMessage
            _ = try await store.appendEvent(
                sessionID: session.id, organizationID: session.organizationID, draft(type, ["n": .init(index)]))
        }
        var seen: [Int] = []
        var cursor = 0
        while true {
            let page = try await store.events(
                sessionID: session.id, organizationID: session.organizationID,
                EventQuery(afterSequence: cursor, limit: 100))
            guard let last = page.last else { break }
            #expect(page.count <= 100)
            seen += page.map(\.sequence)
            cursor = last.sequence
        }
        #expect(seen == Array(1...1_234))

        // Filtered pages skip what does not match and still see each match once.
        var matched: [Int] = []
        cursor = 0
        while true {
            let page = try await store.events(
                sessionID: session.id, organizationID: session.organizationID,
                EventQuery(afterSequence: cursor, types: [EventType.toolCompleted], limit: 50))
            guard let last = page.last else { break }
            matched += page.map(\.sequence)
            cursor = last.sequence
        }
        #expect(matched == Array(stride(from: 1, through: 1_234, by: 3)))
        let tail = try await store.events(
            sessionID: session.id, organizationID: session.organizationID,
            EventQuery(types: [EventType.toolCompleted], limit: 2, lastN: true))
        #expect(tail.map(\.sequence) == [1_231, 1_234])
    }
}

@Suite("In-memory store cap (MEMORY_STORE_MAX_MB)")
struct InMemoryStoreCapTests {
    @Test("past the cap a new input is refused, a running turn's events are not, and deleting frees the space")
    func capRefusesNewInputOnly() async throws {
        let store = InMemoryStore(maxEventBytes: 64 * 1024)
        let first = Session()
        let second = Session(organizationID: first.organizationID)
        try await store.insertSession(first)
        try await store.insertSession(second)
        let text = JSONValue.string(String(repeating: "x", count: 4_000))
        var accepted = 0
        var refusal: StorageFull?
        while refusal == nil, accepted < 100 {
            do {
                _ = try await store.appendEvent(
                    sessionID: first.id, organizationID: first.organizationID, draft(EventType.inputMessage, ["text": text]))
                accepted += 1
            } catch let full as StorageFull {
                refusal = full
            }
        }
        let full = try #require(refusal, "never refused after \(accepted) inputs")
        #expect(full.limitBytes == 64 * 1024 && full.usedBytes >= full.limitBytes)
        let used = await store.eventBytes
        #expect(used == full.usedBytes)
        // Each 4,000-character input counts the same, a little over 4 KiB: the cap let in just enough to reach it.
        let perEvent = used / accepted
        #expect(used % accepted == 0 && perEvent > 4_000 && perEvent < 5_000)
        #expect(accepted == (64 * 1024 + perEvent - 1) / perEvent)
        // Nothing was recorded for the refused input.
        let log = try await store.events(sessionID: first.id, organizationID: first.organizationID, EventQuery())
        #expect(log.count == accepted)

        // A turn already accepted still records its output past the cap.
        let output = try await store.appendEvent(
            sessionID: first.id, organizationID: first.organizationID, draft(EventType.outputMessageCompleted, ["text": text]))
        #expect(output.sequence == accepted + 1)
        await #expect(throws: StorageFull.self) {
            try await store.appendEvent(
                sessionID: second.id, organizationID: second.organizationID, draft(EventType.inputMessage, ["text": "hi"]))
        }

        try await store.deleteSession(id: first.id, organizationID: first.organizationID)
        #expect(await store.eventBytes == 0)
        let next = try await store.appendEvent(
            sessionID: second.id, organizationID: second.organizationID, draft(EventType.inputMessage, ["text": "hi"]))
        #expect(next.sequence == 1)
    }

    @Test("an event counts its payload's JSON size and its ids")
    func eventSizeEstimate() async throws {
        let store = InMemoryStore(maxEventBytes: 1 << 30)
        let session = Session()
        try await store.insertSession(session)
        var sizes: [Int] = []
        for text in ["a", String(repeating: "a", count: 10_001)] {
            let before = await store.eventBytes
            _ = try await store.appendEvent(
                sessionID: session.id, organizationID: session.organizationID, draft(EventType.inputMessage, ["text": .string(text)]))
            sizes.append(await store.eventBytes - before)
        }
        #expect(sizes[1] - sizes[0] == 10_000, "the payload counts byte for byte")
        #expect(sizes[0] > 320, "a fixed cost for the event's ids and entries")
    }
}
