import Foundation
import KeelCore
import KeelStorage
import Testing

/// The organization that owns the rows of these tests.
private let orgA = "org_0000000000000000000000000000000a"
/// Another organization: to it, `orgA`'s rows must look exactly like rows that do not exist.
private let orgB = "org_0000000000000000000000000000000b"

/// The tenancy half of the storage contract, run against every `KeelStore` implementation: a call
/// naming another organization finds nothing, changes nothing, and fails the way a missing id does.
@Suite("Store conformance: organization scope", .timeLimit(.minutes(2)))
struct StoreOrganizationScopeTests {
    @Test("agents: another organization reads nothing and cannot update", arguments: StoreKind.allCases)
    func agents(kind: StoreKind) async throws {
        try await withStore(kind) { store in
            let agent = Agent(organizationID: orgA, name: "private", systemPrompt: "secret prompt", now: day(0))
            try await store.insertAgent(agent)

            #expect(try await store.agent(id: agent.id, organizationID: orgB) == nil)
            await #expect(throws: StoreError.notFound(kind: "agent", id: agent.id)) {
                try await store.updateAgent(id: agent.id, organizationID: orgB) { $0.systemPrompt = "hijacked" }
            }
            await #expect(throws: StoreError.notFound(kind: "agent", id: agent.id)) {
                try await store.updateAgent(id: agent.id, organizationID: orgB) { $0.status = .deleted }
            }
            #expect(try await store.agent(id: agent.id, organizationID: orgA) == agent)
            #expect(try await store.agent(named: "private", organizationID: orgA) == agent)
        }
    }

    @Test("sessions: another organization reads nothing and cannot update or delete", arguments: StoreKind.allCases)
    func sessions(kind: StoreKind) async throws {
        try await withStore(kind) { store in
            let session = Session(organizationID: orgA, title: "private", now: day(0))
            try await store.insertSession(session)
            let event = try await store.appendEvent(
                sessionID: session.id, organizationID: orgA, draft(EventType.inputMessage, "hello"))

            #expect(try await store.session(id: session.id, organizationID: orgB) == nil)
            await #expect(throws: StoreError.notFound(kind: "session", id: session.id)) {
                try await store.updateSession(id: session.id, organizationID: orgB) { $0.title = "hijacked" }
            }
            await #expect(throws: StoreError.notFound(kind: "session", id: session.id)) {
                try await store.deleteSession(id: session.id, organizationID: orgB)
            }
            #expect(try await store.session(id: session.id, organizationID: orgA) == session)
            #expect(try await store.events(sessionID: session.id, organizationID: orgA, EventQuery()) == [event])
        }
    }

    @Test("providers: another organization reads nothing and cannot update or delete", arguments: StoreKind.allCases)
    func providers(kind: StoreKind) async throws {
        try await withStore(kind) { store in
            let provider = LLMProvider(
                organizationID: orgA, name: "Mine", providerType: .openai, encryptedAPIKey: "v1:sealed",
                models: ["gpt-a"], now: day(0))
            try await store.insertProvider(provider)

            #expect(try await store.provider(id: provider.id, organizationID: orgB) == nil)
            await #expect(throws: StoreError.notFound(kind: "provider", id: provider.id)) {
                try await store.updateProvider(id: provider.id, organizationID: orgB) { $0.encryptedAPIKey = "v1:other" }
            }
            await #expect(throws: StoreError.notFound(kind: "provider", id: provider.id)) {
                try await store.deleteProvider(id: provider.id, organizationID: orgB)
            }
            #expect(try await store.provider(id: provider.id, organizationID: orgA) == provider)
            #expect(try await store.listProviders(organizationID: orgA) == [provider])
        }
    }

    @Test("events: another organization reads none and cannot append", arguments: StoreKind.allCases)
    func events(kind: StoreKind) async throws {
        try await withStore(kind) { store in
            let session = Session(organizationID: orgA, now: day(0))
            try await store.insertSession(session)
            let first = try await store.appendEvent(
                sessionID: session.id, organizationID: orgA, draft(EventType.inputMessage, "hello"))

            #expect(try await store.events(sessionID: session.id, organizationID: orgB, EventQuery()).isEmpty)
            #expect(
                try await store.events(sessionID: session.id, organizationID: orgB, EventQuery(limit: 5, lastN: true))
                    .isEmpty)
            #expect(try await store.event(id: first.id, organizationID: orgB) == nil)
            await #expect(throws: StoreError.notFound(kind: "session", id: session.id)) {
                try await store.appendEvent(sessionID: session.id, organizationID: orgB, draft(EventType.inputMessage))
            }

            #expect(try await store.events(sessionID: session.id, organizationID: orgA, EventQuery()) == [first])
            #expect(try await store.event(id: first.id, organizationID: orgA) == first)
            // The refused append allocated no sequence number: the log stays gapless.
            let second = try await store.appendEvent(
                sessionID: session.id, organizationID: orgA, draft(EventType.turnStarted))
            #expect(second.sequence == 2)
        }
    }

    @Test("an update cannot move a row to another organization", arguments: StoreKind.allCases)
    func updatesKeepTheOrganization(kind: StoreKind) async throws {
        try await withStore(kind) { store in
            let agent = Agent(organizationID: orgA, name: "stays", systemPrompt: "p", now: day(0))
            let session = Session(organizationID: orgA, now: day(0))
            let provider = LLMProvider(organizationID: orgA, name: "Stays", providerType: .anthropic, now: day(0))
            try await store.insertAgent(agent)
            try await store.insertSession(session)
            try await store.insertProvider(provider)

            let updatedAgent = try await store.updateAgent(id: agent.id, organizationID: orgA) {
                $0.organizationID = orgB
                $0.description = "changed"
            }
            let updatedSession = try await store.updateSession(id: session.id, organizationID: orgA) {
                $0.organizationID = orgB
                $0.title = "changed"
            }
            let updatedProvider = try await store.updateProvider(id: provider.id, organizationID: orgA) {
                $0.organizationID = orgB
                $0.name = "Changed"
            }
            #expect(updatedAgent.organizationID == orgA && updatedAgent.description == "changed")
            #expect(updatedSession.organizationID == orgA && updatedSession.title == "changed")
            #expect(updatedProvider.organizationID == orgA && updatedProvider.name == "Changed")

            #expect(try await store.agent(id: agent.id, organizationID: orgA) == updatedAgent)
            #expect(try await store.session(id: session.id, organizationID: orgA) == updatedSession)
            #expect(try await store.provider(id: provider.id, organizationID: orgA) == updatedProvider)
            #expect(try await store.agent(id: agent.id, organizationID: orgB) == nil)
            #expect(try await store.session(id: session.id, organizationID: orgB) == nil)
            #expect(try await store.provider(id: provider.id, organizationID: orgB) == nil)
            let agentsOfB = try await store.listAgents(
                organizationID: orgB, includeArchived: true, search: nil, offset: 0, limit: 10)
            let sessionsOfB = try await store.listSessions(
                organizationID: orgB, agentID: nil, search: nil, offset: 0, limit: 10)
            #expect(agentsOfB.items.isEmpty && sessionsOfB.items.isEmpty)
            #expect(try await store.listProviders(organizationID: orgB).isEmpty)
        }
    }
}
