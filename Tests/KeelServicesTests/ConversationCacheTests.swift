import Foundation
import KeelCore
import KeelTestSupport
import Testing

@testable import KeelEngine
@testable import KeelServices

/// The engine's conversation cache against a real store: incremental, decoded once, bounded,
/// and never a way around the store's organization check.
@Suite("Conversation cache")
struct ConversationCacheTests {
    @Test("reads only what is new, keeps log order and decoded messages, evicts the least recently used, keeps organizations apart")
    func incremental() async throws {
        let fixture = try await ServiceFixture()
        let store = fixture.store
        let organizationID = fixture.organizationID
        let session = try await fixture.services.sessions.create(SessionInput(), organizationID: organizationID)
        let failures = DecodeFailureLog()
        let cache = ConversationCache(capacity: 2)
        func append(_ draft: EventDraft) async throws {
            _ = try await store.appendEvent(sessionID: session.id, organizationID: organizationID, draft)
        }
        let question = Message(role: .user, content: [.text("2 + 2?")])
        try await append(EventDraft(InputMessagePayload(message: question), context: EventContext(inputMessageID: question.id)))
        try await append(EventDraft(type: EventType.turnStarted, context: EventContext(inputMessageID: question.id), data: [:]))
        try await append(EventDraft(type: EventType.reasonStarted, context: EventContext(), data: [:]))
        let first = try await cache.records(
            sessionID: session.id, organizationID: organizationID, store: store, failures: failures.reporter)
        #expect(first.map(\.type) == [EventType.inputMessage, EventType.turnStarted], "only the conversation's types")
        #expect(first.first?.message?.text == "2 + 2?")

        let answer = Message(role: .agent, content: [.text("4")])
        try await append(EventDraft(OutputMessageCompletedPayload(message: answer, model: "llmsim/sim", usage: Usage()), context: EventContext()))
        try await append(EventDraft(type: EventType.outputMessageCompleted, context: EventContext(), data: ["message": "garbled"]))
        let second = try await cache.records(
            sessionID: session.id, organizationID: organizationID, store: store, failures: failures.reporter)
        #expect(second.compactMap(\.message?.text) == ["2 + 2?", "4"])
        #expect(second.count == 4)
        let third = try await cache.records(
            sessionID: session.id, organizationID: organizationID, store: store, failures: failures.reporter)
        #expect(third.count == 4, "nothing new, nothing doubled")
        #expect(failures.all.count == 1, "the garbled message was decoded (and reported) once, not on every read")

        let foreign = try? await cache.records(
            sessionID: session.id, organizationID: "org_someone_else", store: store, failures: failures.reporter)
        #expect(foreign?.isEmpty ?? true, "another organization gets nothing of the cached conversation")
        for _ in 0..<2 {
            let other = try await fixture.services.sessions.create(SessionInput(), organizationID: organizationID)
            _ = try await cache.records(sessionID: other.id, organizationID: organizationID, store: store, failures: failures.reporter)
        }
        #expect(cache.count == 2, "at most capacity sessions")
        let reread = try await cache.records(
            sessionID: session.id, organizationID: organizationID, store: store, failures: failures.reporter)
        #expect(reread.count == 4, "an evicted session is read whole again")
    }

    @Test("the cached event data stays within the byte budget: an oversized conversation is read whole, not kept")
    func byteBudget() async throws {
        let fixture = try await ServiceFixture()
        let organizationID = fixture.organizationID
        let failures = DecodeFailureLog()
        let cache = ConversationCache(capacity: 10, byteBudget: 3_000)
        func session(words: Int) async throws -> String {
            let session = try await fixture.services.sessions.create(SessionInput(), organizationID: organizationID)
            let message = Message(role: .user, content: [.text(String(repeating: "word ", count: words))])
            _ = try await fixture.store.appendEvent(
                sessionID: session.id, organizationID: organizationID,
                EventDraft(InputMessagePayload(message: message), context: EventContext(inputMessageID: message.id)))
            return session.id
        }
        let small = try await session(words: 100)
        _ = try await cache.records(sessionID: small, organizationID: organizationID, store: fixture.store, failures: failures.reporter)
        #expect(cache.count == 1 && cache.bytes > 500 && cache.bytes <= 3_000)
        let huge = try await session(words: 1_000)
        let read = try await cache.records(sessionID: huge, organizationID: organizationID, store: fixture.store, failures: failures.reporter)
        #expect(read.count == 1, "an oversized conversation is still read")
        #expect(cache.count == 1, "but not kept")
        for _ in 0..<5 {
            let other = try await session(words: 100)
            _ = try await cache.records(sessionID: other, organizationID: organizationID, store: fixture.store, failures: failures.reporter)
        }
        #expect(cache.bytes <= 3_000 && cache.count < 6, "least recently used sessions go to stay within the budget")
    }
}
