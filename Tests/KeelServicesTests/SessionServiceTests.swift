import Foundation
import KeelCore
import Testing
@testable import KeelServices

@Suite("SessionService and MessageService: agents, deletion, message rules")
struct SessionServiceTests {
    @Test("an archived agent starts no sessions; an active one records session.started with its model")
    func sessionsFromAgents() async throws {
        let fixture = try await ServiceFixture()
        var definition = AgentInput(name: "support", systemPrompt: "p")
        definition.defaultModelID = "llmsim/sim"
        let agent = try await fixture.services.agents.apply(definition, organizationID: fixture.organizationID).agent

        var input = SessionInput()
        input.agentName = "support"
        let session = try await fixture.services.sessions.create(input, organizationID: fixture.organizationID)
        #expect(session.agentID == agent.id)
        let events = try await fixture.services.events.events(
            sessionID: session.id, organizationID: session.organizationID, EventQuery())
        #expect(events.map(\.type) == [EventType.sessionStarted])
        #expect(events.first?.data["model_id"] == "llmsim/sim")

        try await fixture.services.agents.archive(agent)
        let refused = await serviceError { _ = try await fixture.services.sessions.create(input, organizationID: fixture.organizationID) }
        #expect(refused?.inputCode == "agent_archived")
    }

    @Test("deleting a session cancels its turn while it exists, then releases the runner's state")
    func deleteCancelsFirst() async throws {
        let fixture = try await ServiceFixture()
        let sessions = fixture.services.sessions
        let session = try await sessions.create(SessionInput(), organizationID: fixture.organizationID)
        try await sessions.delete(session)
        #expect(fixture.runner.calls.withLock { $0 } == ["cancel:\(session.id):exists", "deleted:\(session.id)"])
        let gone = await serviceError { _ = try await sessions.find(session.id, organizationID: fixture.organizationID) }
        #expect(gone == .notFound(kind: "session", id: session.id))
    }

    @Test("a session's model change must name a served model")
    func patchValidatesModel() async throws {
        let fixture = try await ServiceFixture()
        let session = try await fixture.services.sessions.create(SessionInput(), organizationID: fixture.organizationID)
        var patch = SessionPatch()
        patch.modelID = "gpt-5-nonexistent"
        let refused = await serviceError { _ = try await fixture.services.sessions.update(session, with: patch) }
        #expect(refused == .modelNotFound(reference: "gpt-5-nonexistent"))
        patch.modelID = "gpt-4o"
        #expect(try await fixture.services.sessions.update(session, with: patch).modelID == "gpt-4o")
    }

    @Test("user messages: no tool parts, trace-safe metadata, the queue limit as a typed refusal")
    func messageRules() async throws {
        let fixture = try await ServiceFixture()
        let session = try await fixture.services.sessions.create(SessionInput(), organizationID: fixture.organizationID)
        let messages = fixture.services.messages
        let toolPart = MessageInput(message: .init(content: [.toolResult(toolCallID: "call_1", result: "x", error: nil)]))
        let refusedTool = await serviceError { _ = try await messages.submit(toolPart, to: session, traceContext: nil) }
        #expect(refusedTool?.inputCode == "invalid_request")
        let dotted = MessageInput(message: .init(content: [.text("hi")]), metadata: ["a.b": "c"])
        let refusedMetadata = await serviceError { _ = try await messages.submit(dotted, to: session, traceContext: nil) }
        guard case .invalidMetadata = refusedMetadata else {
            Issue.record("expected invalidMetadata, got \(String(describing: refusedMetadata))")
            return
        }
        let sent = try await messages.submit(MessageInput(message: .init(content: [.text("hi")])), to: session, traceContext: nil)
        #expect(sent.sessionID == session.id)
        #expect(fixture.runner.calls.withLock { $0 } == ["submit:\(session.id)"])

        let busy = try await ServiceFixture(queueLimit: 3)
        let busySession = try await busy.services.sessions.create(SessionInput(), organizationID: busy.organizationID)
        let refusedQueue = await serviceError {
            _ = try await busy.services.messages.submit(MessageInput(message: .init(content: [.text("hi")])), to: busySession, traceContext: nil)
        }
        #expect(refusedQueue == .tooManyQueuedMessages(limit: 3))
    }
}
