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
