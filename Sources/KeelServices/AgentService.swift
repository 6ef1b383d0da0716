import Foundation
import KeelCore

/// Agents: look-up by id or name, create-or-update by name (the SDK's `apply`), partial updates
/// and archiving. Archived agents stay readable and listable on request; applying a definition to
/// one restores it.
public struct AgentService: Sendable {
    let store: any KeelStore
    let rules: RuntimeSettingsRules

    public init(store: any KeelStore, rules: RuntimeSettingsRules) {
        self.store = store
        self.rules = rules
    }

    public func list(
        organizationID: String, includeArchived: Bool, search: String?, offset: Int, limit: Int
    ) async throws -> Page<Agent> {
        try await store.listAgents(
            organizationID: organizationID, includeArchived: includeArchived, search: search, offset: offset, limit: limit)
    }

    /// The agent with this id (`agent_…`) or, otherwise, this name.
    public func find(_ key: String, organizationID: String) async throws -> Agent {
        if key.hasPrefix("agent_") {
            try InputRules.validateAgentID(key)
            guard let agent = try await store.agent(id: key, organizationID: organizationID) else {
                throw ServiceError.notFound(kind: "agent", id: key)
            }
            return agent
        }
        guard let agent = try await store.agent(named: key, organizationID: organizationID) else {
            throw ServiceError.notFound(kind: "agent", id: key)
        }
        return agent
    }

    /// Creates the agent, or replaces the one with the same id or name (and makes it active
    /// again). `key` is the id or name the caller addressed (`PUT /agents/{key}`), nil for a plain
    /// create; a name key must be the body's name. Returns the agent and whether it was created.
    public func apply(
        _ input: AgentInput, organizationID: String, key: String? = nil
    ) async throws -> (agent: Agent, created: Bool) {
        let pathID: String? = key.flatMap { $0.hasPrefix("agent_") ? $0 : nil }
        if let key, pathID == nil, key != input.name {
            throw ServiceError.invalid("Path name '\(key)' does not match body name '\(input.name)'")
        }
        try await validate(input, organizationID: organizationID)
        if let bodyID = input.id, let pathID, bodyID != pathID {
            throw ServiceError.invalid("Body id '\(bodyID)' does not match the path id '\(pathID)'")
        }
        let id = pathID ?? input.id
        var existing: Agent?
        if let id { existing = try await store.agent(id: id, organizationID: organizationID) }
        if existing == nil { existing = try await store.agent(named: input.name, organizationID: organizationID) }
        if let existing, let id, existing.id != id {
            throw ServiceError.conflict("An agent named '\(input.name)' already exists with id \(existing.id)")
        }
        let capabilities = (input.capabilities ?? []).map(\.value)
        if let existing {
            let updated = try await store.updateAgent(id: existing.id, organizationID: organizationID) { agent in
                agent.name = input.name
                agent.displayName = input.displayName
                agent.description = input.description
                agent.systemPrompt = input.systemPrompt
                agent.defaultModelID = input.defaultModelID
                agent.tags = input.tags ?? []
                agent.capabilities = capabilities
                agent.tools = input.tools ?? []
                agent.maxIterations = input.maxIterations
                agent.parallelToolCalls = input.parallelToolCalls
                agent.status = .active
                agent.archivedAt = nil
            }
            return (updated, false)
        }
        let agent = Agent(
            id: id ?? PublicID.make(.agent), organizationID: organizationID, name: input.name,
            displayName: input.displayName, description: input.description, systemPrompt: input.systemPrompt,
            defaultModelID: input.defaultModelID, capabilities: capabilities, tools: input.tools ?? [],
            tags: input.tags ?? [], maxIterations: input.maxIterations, parallelToolCalls: input.parallelToolCalls)
        do {
            try await store.insertAgent(agent)
        } catch StoreError.conflict where id != nil {
            // The name is free here, so the chosen id belongs to another organization's agent,
            // which must look exactly like one that does not exist.
            throw ServiceError.notFound(kind: "agent", id: agent.id)
        }
        return (agent, true)
    }

    /// Applies the fields the patch sets. Setting `status` archives (stamping `archived_at`) or
    /// restores; `deleted` is not a status a caller may set.
    public func update(_ existing: Agent, with patch: AgentPatch) async throws -> Agent {
        try await validate(patch, organizationID: existing.organizationID)
        return try await store.updateAgent(id: existing.id, organizationID: existing.organizationID) { agent in
            if let name = patch.name { agent.name = name }
            if let value = patch.displayName { agent.displayName = value }
            if let value = patch.description { agent.description = value }
            if let value = patch.systemPrompt { agent.systemPrompt = value }
            if let value = patch.defaultModelID { agent.defaultModelID = value }
            if let value = patch.tags { agent.tags = value }
            if let value = patch.capabilities { agent.capabilities = value.map(\.value) }
            if let value = patch.tools { agent.tools = value }
            if let value = patch.maxIterations { agent.maxIterations = value }
            if let value = patch.parallelToolCalls { agent.parallelToolCalls = value }
            if let status = patch.status {
                agent.status = status
                agent.archivedAt = status == .archived ? Date() : nil
            }
        }
    }

    /// Archives an active agent (idempotent: an archived agent keeps its `archived_at`). Its
    /// sessions keep working; new sessions cannot start from it.
    @discardableResult
    public func archive(_ existing: Agent) async throws -> Agent {
        try await store.updateAgent(id: existing.id, organizationID: existing.organizationID) { agent in
            if agent.status == .active {
                agent.status = .archived
                agent.archivedAt = Date()
            }
        }
    }

    private func validate(_ input: AgentInput, organizationID: String) async throws {
        try InputRules.validateName(input.name)
        if let id = input.id { try InputRules.validateAgentID(id) }
        try InputRules.validateSize(input.displayName, "display_name", max: InputLimits.displayNameBytes)
        try InputRules.validateSize(input.description, "description", max: InputLimits.descriptionBytes)
        try InputRules.validateHarness(id: input.harnessID, name: input.harnessName)
        try await rules.validate(
            systemPrompt: input.systemPrompt, maxIterations: input.maxIterations, tags: input.tags, tools: input.tools,
            capabilities: input.capabilities, modelID: input.defaultModelID, organizationID: organizationID)
    }

    private func validate(_ patch: AgentPatch, organizationID: String) async throws {
        if let name = patch.name { try InputRules.validateName(name) }
        if patch.status == .deleted { throw ServiceError.invalid("status must be active or archived") }
        try InputRules.validateSize(patch.displayName, "display_name", max: InputLimits.displayNameBytes)
        try InputRules.validateSize(patch.description, "description", max: InputLimits.descriptionBytes)
        try await rules.validate(
            systemPrompt: patch.systemPrompt, maxIterations: patch.maxIterations, tags: patch.tags, tools: patch.tools,
            capabilities: patch.capabilities, modelID: patch.defaultModelID, organizationID: organizationID)
    }
}
