import Foundation
import KeelCore
import Testing
@testable import KeelServices

@Suite("AgentService: apply by name, archive rules, validation")
struct AgentServiceTests {
    @Test("applying a definition twice by name updates the one agent instead of creating another")
    func applyUpsertsByName() async throws {
        let fixture = try await ServiceFixture()
        let agents = fixture.services.agents
        let first = try await agents.apply(AgentInput(name: "support", systemPrompt: "v1"), organizationID: fixture.organizationID)
        let second = try await agents.apply(AgentInput(name: "support", systemPrompt: "v2"), organizationID: fixture.organizationID)
        #expect(first.created)
        #expect(!second.created)
        #expect(second.agent.id == first.agent.id)
        #expect(second.agent.systemPrompt == "v2")
        let listed = try await agents.list(
            organizationID: fixture.organizationID, includeArchived: true, search: nil, offset: 0, limit: 20)
        #expect(listed.total == 1)
    }

    @Test("a name already held by another id is a conflict, a path name must match the body")
    func applyRefusesMismatchedIdentity() async throws {
        let fixture = try await ServiceFixture()
        let agents = fixture.services.agents
        let existing = try await agents.apply(AgentInput(name: "support", systemPrompt: "p"), organizationID: fixture.organizationID)
        let otherID = PublicID.make(.agent)
        let conflict = await serviceError {
            _ = try await agents.apply(AgentInput(name: "support", systemPrompt: "p"), organizationID: fixture.organizationID, key: otherID)
        }
        #expect(conflict == .conflict("An agent named 'support' already exists with id \(existing.agent.id)"))
        let mismatch = await serviceError {
            _ = try await agents.apply(AgentInput(name: "support", systemPrompt: "p"), organizationID: fixture.organizationID, key: "sales")
        }
        #expect(mismatch?.inputCode == "invalid_request")
        let bodyVersusPath = await serviceError {
            _ = try await agents.apply(
                AgentInput(name: "support", systemPrompt: "p", id: PublicID.make(.agent)),
                organizationID: fixture.organizationID, key: existing.agent.id)
        }
        #expect(bodyVersusPath?.inputCode == "invalid_request")
    }

    @Test("archiving stamps archived_at once; applying the definition again restores the agent")
    func archiveAndRestore() async throws {
        let fixture = try await ServiceFixture()
        let agents = fixture.services.agents
        let created = try await agents.apply(AgentInput(name: "support", systemPrompt: "p"), organizationID: fixture.organizationID).agent
        let archived = try await agents.archive(created)
        #expect(archived.status == .archived)
        let stamp = try #require(archived.archivedAt)
        let again = try await agents.archive(archived)
        #expect(again.archivedAt == stamp)

        let visible = try await agents.list(
            organizationID: fixture.organizationID, includeArchived: false, search: nil, offset: 0, limit: 20)
        #expect(visible.items.isEmpty)
        #expect(try await agents.find("support", organizationID: fixture.organizationID).status == .archived)

        let restored = try await agents.apply(AgentInput(name: "support", systemPrompt: "p"), organizationID: fixture.organizationID)
        #expect(!restored.created)
        #expect(restored.agent.status == .active)
        #expect(restored.agent.archivedAt == nil)
    }

    @Test("a patch may archive or restore, never delete")
    func patchStatus() async throws {
        let fixture = try await ServiceFixture()
        let agents = fixture.services.agents
        let created = try await agents.apply(AgentInput(name: "support", systemPrompt: "p"), organizationID: fixture.organizationID).agent
        var archive = AgentPatch()
        archive.status = .archived
        let archived = try await agents.update(created, with: archive)
        #expect(archived.archivedAt != nil)
        var restore = AgentPatch()
        restore.status = .active
        #expect(try await agents.update(archived, with: restore).archivedAt == nil)
        var delete = AgentPatch()
        delete.status = .deleted
        let refused = await serviceError { _ = try await agents.update(archived, with: delete) }
        #expect(refused == .invalidInput(code: "invalid_request", message: "status must be active or archived"))
    }

    @Test("models must resolve to an active provider; capabilities must be in the catalogue")
    func modelAndCapabilityValidation() async throws {
        let fixture = try await ServiceFixture()
        let agents = fixture.services.agents
        var input = AgentInput(name: "support", systemPrompt: "p")
        input.defaultModelID = "nosuch/model"
        let unknownModel = await serviceError { _ = try await agents.apply(input, organizationID: fixture.organizationID) }
        #expect(unknownModel == .modelNotFound(reference: "nosuch/model"))

        input.defaultModelID = "llmsim/sim"
        input.capabilities = [CapabilityRefInput(CapabilityRef(ref: "teleport"))]
        let unknownCapability = await serviceError { _ = try await agents.apply(input, organizationID: fixture.organizationID) }
        #expect(unknownCapability?.inputCode == "unknown_capability")

        input.capabilities = [CapabilityRefInput(CapabilityRef(ref: "current_time"))]
        let created = try await agents.apply(input, organizationID: fixture.organizationID)
        #expect(created.agent.defaultModelID == "llmsim/sim")
        #expect(created.agent.capabilities.map(\.ref) == ["current_time"])

        var patch = AgentPatch()
        patch.defaultModelID = "openai/"
        let emptyModel = await serviceError { _ = try await agents.update(created.agent, with: patch) }
        #expect(emptyModel == .modelNotFound(reference: "openai/"))
    }

    @Test("names, harnesses and ids follow the input rules")
    func inputRules() async throws {
        let fixture = try await ServiceFixture()
        let agents = fixture.services.agents
        let badName = await serviceError {
            _ = try await agents.apply(AgentInput(name: "Support Bot", systemPrompt: "p"), organizationID: fixture.organizationID)
        }
        #expect(badName?.inputCode == "invalid_request")
        var harness = AgentInput(name: "support", systemPrompt: "p")
        harness.harnessName = "other"
        let unknownHarness = await serviceError { _ = try await agents.apply(harness, organizationID: fixture.organizationID) }
        #expect(unknownHarness == .notFound(kind: "harness", id: "other"))
        let badID = await serviceError { _ = try await agents.find("agent_xyz", organizationID: fixture.organizationID) }
        #expect(badID?.inputCode == "invalid_id")
        let missing = await serviceError { _ = try await agents.find("nobody", organizationID: fixture.organizationID) }
        #expect(missing == .notFound(kind: "agent", id: "nobody"))
    }
}
