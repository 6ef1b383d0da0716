import KeelCore
import KeelStorage
import Testing

@Suite("In-memory store")
struct InMemoryStoreSmokeTests {
    @Test("event sequences are gapless per session")
    func sequences() async throws {
        let store = InMemoryStore()
        let session = Session()
        try await store.insertSession(session)
        for _ in 0..<5 {
            _ = try await store.appendEvent(
                sessionID: session.id, EventDraft(type: EventType.inputMessage, context: EventContext(), data: [:]))
        }
        let events = try await store.events(sessionID: session.id, EventQuery())
        #expect(events.map(\.sequence) == [1, 2, 3, 4, 5])
    }
}
