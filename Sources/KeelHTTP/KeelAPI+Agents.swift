import Foundation
import Hummingbird
import KeelCore

extension KeelAPI {
    func addAgentRoutes(to v1: RouterGroup<BasicRequestContext>) {
        v1.get("agents") { request, _ in
            let offset = try RequestDecoding.integer(request, "offset", default: 0, range: 0...Int(Int32.max))
            let limit = try RequestDecoding.integer(request, "limit", default: 20, range: 1...100)
            let page = try await store.listAgents(
                organizationID: organizationID(request),
                includeArchived: try RequestDecoding.boolean(request, "include_archived"),
                search: RequestDecoding.string(request, "search"), offset: offset, limit: limit)
            return try JSONResponse.make(PageBody(data: page.items, total: page.total, offset: offset, limit: limit))
        }
        v1.post("agents") { request, _ in
            let input = try await RequestDecoding.decodeBody(AgentInput.self, from: request)
            let (agent, created) = try await upsertAgent(input, organizationID: organizationID(request), pathID: nil)
            return try JSONResponse.make(agent, status: created ? .created : .ok)
        }
        v1.get("agents/{id}") { request, context in
            try JSONResponse.make(try await findAgent(context.parameters.get("id") ?? "", request: request))
        }
        v1.put("agents/{id}") { request, context in
            let key = context.parameters.get("id") ?? ""
            let input = try await RequestDecoding.decodeBody(AgentInput.self, from: request)
            let pathID: String? = key.hasPrefix("agent_") ? key : nil
            if pathID == nil, key != input.name {
                throw APIError.badRequest("Path name '\(key)' does not match body name '\(input.name)'")
            }
            let (agent, created) = try await upsertAgent(input, organizationID: organizationID(request), pathID: pathID)
            return try JSONResponse.make(agent, status: created ? .created : .ok)
        }
        v1.patch("agents/{id}") { request, context in
            let existing = try await findAgent(context.parameters.get("id") ?? "", request: request)
            let patch = try await RequestDecoding.decodeBody(AgentPatch.self, from: request)
            try await validate(patch, organizationID: existing.organizationID)
            let updated = try await store.updateAgent(id: existing.id) { agent in
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
            return try JSONResponse.make(updated)
        }
        v1.delete("agents/{id}") { request, context in
            let agent = try await findAgent(context.parameters.get("id") ?? "", request: request)
            try await store.updateAgent(id: agent.id) { agent in
                if agent.status == .active {
                    agent.status = .archived
                    agent.archivedAt = Date()
                }
            }
            return JSONResponse.noContent()
        }
    }

    /// Looks an agent up by id or by name.
    func findAgent(_ key: String, request: Request) async throws -> Agent {
        if key.hasPrefix("agent_") {
            guard PublicID.isValid(key, prefix: .agent) else {
                throw APIError.badRequest("Invalid agent id '\(key)'", code: "invalid_id")
            }
            guard let agent = try await store.agent(id: key), agent.organizationID == organizationID(request) else {
                throw APIError.notFound("agent", key)
            }
            return agent
        }
        guard let agent = try await store.agent(named: key, organizationID: organizationID(request)) else {
            throw APIError.notFound("agent", key)
        }
        return agent
    }

    /// Creates the agent, or updates the one with the same id or name (the SDK's `apply`).
    private func upsertAgent(_ input: AgentInput, organizationID: String, pathID: String?) async throws -> (Agent, Bool) {
        try await validate(input, organizationID: organizationID)
        if let bodyID = input.id, let pathID, bodyID != pathID {
            throw APIError.badRequest("Body id '\(bodyID)' does not match the path id '\(pathID)'")
        }
        let id = pathID ?? input.id
        var existing: Agent?
        if let id { existing = try await store.agent(id: id) }
        if existing == nil { existing = try await store.agent(named: input.name, organizationID: organizationID) }
        if let existing, let id, existing.id != id {
            throw APIError.conflict("An agent named '\(input.name)' already exists with id \(existing.id)")
        }
        let capabilities = (input.capabilities ?? []).map(\.value)
        if let existing {
            let updated = try await store.updateAgent(id: existing.id) { agent in
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
        try await store.insertAgent(agent)
        return (agent, true)
    }

    private func validate(_ input: AgentInput, organizationID: String) async throws {
        try InputRules.validateName(input.name)
        if let id = input.id, !PublicID.isValid(id, prefix: .agent) {
            throw APIError.badRequest("Invalid agent id '\(id)'", code: "invalid_id")
        }
        try InputRules.validateSize(input.displayName, "display_name", max: InputRules.maxDisplayNameBytes)
        try InputRules.validateSize(input.description, "description", max: InputRules.maxDescriptionBytes)
        try InputRules.validateHarness(id: input.harnessID, name: input.harnessName)
        try await validateRuntimeSettings(
            systemPrompt: input.systemPrompt, maxIterations: input.maxIterations, tags: input.tags, tools: input.tools,
            capabilities: input.capabilities, modelID: input.defaultModelID, organizationID: organizationID)
    }

    private func validate(_ patch: AgentPatch, organizationID: String) async throws {
        if let name = patch.name { try InputRules.validateName(name) }
        if patch.status == .deleted { throw APIError.badRequest("status must be active or archived") }
        try InputRules.validateSize(patch.displayName, "display_name", max: InputRules.maxDisplayNameBytes)
        try InputRules.validateSize(patch.description, "description", max: InputRules.maxDescriptionBytes)
        try await validateRuntimeSettings(
            systemPrompt: patch.systemPrompt, maxIterations: patch.maxIterations, tags: patch.tags, tools: patch.tools,
            capabilities: patch.capabilities, modelID: patch.defaultModelID, organizationID: organizationID)
    }

    /// The rules shared by agents and sessions for what shapes a turn: prompt, iteration cap,
    /// tags, tools, capabilities and model.
    func validateRuntimeSettings(
        systemPrompt: String?, maxIterations: Int?, tags: [String]?, tools: [ToolDefinition]?,
        capabilities: [CapabilityRefInput]?, modelID: String?, organizationID: String
    ) async throws {
        try InputRules.validateSize(systemPrompt, "system_prompt", max: InputRules.maxPromptBytes)
        try InputRules.validateIterations(maxIterations)
        try InputRules.validateTags(tags)
        try InputRules.validateTools(tools)
        try validateCapabilities(capabilities)
        try await validateModel(modelID, organizationID: organizationID)
    }

    func validateCapabilities(_ refs: [CapabilityRefInput]?) throws {
        guard let refs else { return }
        guard refs.count <= InputRules.maxCapabilities else {
            throw APIError.badRequest("At most \(InputRules.maxCapabilities) capabilities", code: "input_too_large")
        }
        do {
            _ = try capabilities.resolve(refs.map(\.value.ref))
        } catch {
            throw APIError.badRequest("\(error)", code: "unknown_capability")
        }
    }

    func validateModel(_ reference: String?, organizationID: String) async throws {
        guard let reference else { return }
        guard try await engine.modelResolver.resolve(reference, organizationID: organizationID) != nil else {
            throw APIError(.notFound, code: "model_not_found", "Model '\(reference.prefix(200))' not found; see GET /v1/models")
        }
    }
}
