import Foundation
import KeelCore
import Testing

@testable import KeelServices

@Suite("EventService")
struct EventServiceTests {
    @Test("the message view skips a stored message that does not decode, reports it, and keeps every other message")
    func undecodableMessageIsReported() async throws {
        let fixture = try await ServiceFixture()
        let session = try await fixture.services.sessions.create(SessionInput(), organizationID: fixture.organizationID)
        let question = Message(role: .user, content: [.text("2 + 2?")])
        let answer = Message(role: .agent, content: [.text("4")])
        _ = try await fixture.store.appendEvent(
            sessionID: session.id, organizationID: session.organizationID, EventDraft(InputMessagePayload(message: question), context: EventContext()))
        let broken = try await fixture.store.appendEvent(
            sessionID: session.id, organizationID: session.organizationID,
            EventDraft(type: EventType.outputMessageCompleted, context: EventContext(), data: ["message": "garbled"]))
        _ = try await fixture.store.appendEvent(
            sessionID: session.id, organizationID: session.organizationID,
            EventDraft(
                OutputMessageCompletedPayload(message: answer, model: "llmsim/sim", usage: Usage()), context: EventContext()))

        let page = try await fixture.services.events.messagePage(
            sessionID: session.id, organizationID: session.organizationID, EventQuery(), limit: 50)
        #expect(page.messages.map(\.id) == [question.id, answer.id])
        #expect(page.messages.map(\.text) == ["2 + 2?", "4"])
        let reported = fixture.decodeFailures.all
        #expect(reported.map(\.eventID) == [broken.id])
        #expect(reported.map(\.consumer) == ["message_projection"])
    }
}
