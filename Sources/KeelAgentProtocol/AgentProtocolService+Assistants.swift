import Foundation
import KeelCore
import KeelServices

/// An assistant as the API shows it.
public struct AssistantView: Sendable, Hashable {
    public var id: String
    public var data: AssistantData
    public var createdAt: Date
    public var updatedAt: Date

    public var json: JSONValue {
        [
            "assistant_id": .string(id), "graph_id": .string(data.graphID), "name": .string(data.name),
            "description": JSONValue(data.description), "config": data.config, "context": data.context,
            "metadata": data.metadata, "version": .number(Double(data.version)),
            "created_at": ProtocolTime.string(createdAt), "updated_at": ProtocolTime.string(updatedAt),
        ]
    }
}

extension AgentProtocolService {
    /// Agents created for assistants carry this tag; every other active agent is a graph.
    static let assistantTag = "agent-protocol-assistant"
    static let maxListAgents = 1000
    static let maxVersions = 100

    /// The assistant with this id; an agent's id or a graph id (an agent's name) names that
    /// agent's default assistant.
    public func assistant(_ key: String, organizationID: String) async throws -> AssistantView {
        if let found = try await storedAssistant(key, organizationID: organizationID) { return found }
        if let agent = try await graphAgent(key, organizationID: organizationID) { return Self.defaultAssistant(agent) }
        throw AgentProtocolError.notFound(kind: "assistant", id: key)
    }

    func storedAssistant(_ id: String, organizationID: String) async throws -> AssistantView? {
        guard let record = try await records.record(.assistant, id: id, organizationID: organizationID) else { return nil }
        return AssistantView(
            id: record.id, data: try record.decoded(AssistantData.self), createdAt: record.createdAt,
            updatedAt: record.updatedAt)
    }

    /// The active, non-assistant agent with this id or name.
    func graphAgent(_ key: String, organizationID: String) async throws -> Agent? {
        let agent: Agent? =
            if PublicID.isValid(key, prefix: .agent) {
                try await store.agent(id: key, organizationID: organizationID)
            } else {
                try await store.agent(named: key, organizationID: organizationID)
            }
        guard let agent, agent.status == .active, !agent.tags.contains(Self.assistantTag) else { return nil }
        return agent
    }

    static func defaultAssistant(_ agent: Agent) -> AssistantView {
        AssistantView(
            id: agent.id,
            data: AssistantData(
                agentID: agent.id, graphID: agent.name, name: agent.name, description: agent.description,
                config: ["configurable": [:]], context: [:], metadata: ["created_by": "system"], version: 1, versions: []),
            createdAt: agent.createdAt, updatedAt: agent.updatedAt)
    }

    public func createAssistant(_ body: JSONValue, organizationID: String) async throws -> AssistantView {
        let request = try ProtocolBody(body, name: "assistant")
        let graphID = try request.requiredString("graph_id")
        let config = try request.object("config") ?? ["configurable": [:]]
        let context = try request.object("context") ?? [:]
        let metadata = try request.object("metadata") ?? [:]
        let ifExists = try request.choice("if_exists", ["raise", "do_nothing"], default: "raise")
        let name = try request.string("name", maxBytes: 200)
        let description = try request.string("description", maxBytes: 2000)
        if let id = try request.string("assistant_id", maxBytes: ProtocolIDs.maxLength) {
            try ProtocolIDs.validate(id, field: "assistant_id")
            if let existing = try? await assistant(id, organizationID: organizationID) {
                guard ifExists == "do_nothing" else {
                    throw AgentProtocolError.conflict("Assistant '\(id)' already exists")
                }
                return existing
            }
        }
        guard let graph = try await graphAgent(graphID, organizationID: organizationID) else {
            throw AgentProtocolError.notFound(kind: "graph", id: graphID)
        }
        let id = try request.string("assistant_id", maxBytes: ProtocolIDs.maxLength) ?? UUID().uuidString.lowercased()
        // The agent's own name only has to be unique and valid: the graph's (shortened) and random hex.
        let suffix = UUID().uuidString.replacingOccurrences(of: "-", with: "").prefix(12).lowercased()
        var input = AgentInput(
            name: "\(graph.name.prefix(InputLimits.agentNameCharacters - 14))-a\(suffix)",
            systemPrompt: config["configurable"]?["system_prompt"]?.stringValue ?? graph.systemPrompt)
        input.displayName = name
        input.description = description ?? graph.description
        input.defaultModelID = config["configurable"]?["model"]?.stringValue ?? graph.defaultModelID
        input.capabilities = graph.capabilities.map(CapabilityRefInput.init)
        input.tools = graph.tools
        input.tags = [Self.assistantTag]
        input.maxIterations = graph.maxIterations
        input.parallelToolCalls = graph.parallelToolCalls
        let agent = try await services.agents.apply(input, organizationID: organizationID).agent
        let data = AssistantData(
            agentID: agent.id, graphID: graph.name, name: name ?? graph.name, description: description, config: config,
            context: context, metadata: metadata, version: 1,
            versions: [AssistantVersion(
                version: 1, name: name ?? graph.name, description: description, config: config, context: context,
                metadata: metadata, createdAt: Date())])
        let record = ProtocolRecord(kind: .assistant, id: id, organizationID: organizationID, data: .encoding(data))
        do {
            try await records.insertRecord(record)
        } catch StoreError.conflict {
            _ = try? await services.agents.archive(agent)
            if ifExists == "do_nothing", let existing = try await storedAssistant(id, organizationID: organizationID) {
                return existing
            }
            throw AgentProtocolError.conflict("Assistant '\(id)' already exists")
        }
        return AssistantView(id: id, data: data, createdAt: record.createdAt, updatedAt: record.updatedAt)
    }

    /// A new version with the changed fields (metadata merged); the agent takes the new prompt and model.
    public func patchAssistant(_ key: String, _ body: JSONValue, organizationID: String) async throws -> AssistantView {
        let request = try ProtocolBody(body, name: "assistant")
        let current = try await assistant(key, organizationID: organizationID)
        var data = current.data
        if let graphID = try request.string("graph_id", maxBytes: 200), graphID != data.graphID {
            throw AgentProtocolError.invalid("graph_id cannot change (the assistant's graph is '\(data.graphID)')")
        }
        if let config = try request.object("config") { data.config = config }
        if let context = try request.object("context") { data.context = context }
        if let metadata = try request.object("metadata") { data.metadata = try Self.patchedMetadata(data.metadata, metadata) }
        if let name = try request.string("name", maxBytes: 200) { data.name = name }
        if let description = try request.string("description", maxBytes: 2000) { data.description = description }
        data.version = (data.versions.map(\.version).max() ?? data.version) + 1
        data.versions.append(Self.version(of: data))
        // A record keeps the latest `maxVersions`; older ones cannot be made latest again.
        if data.versions.count > Self.maxVersions { data.versions.removeFirst(data.versions.count - Self.maxVersions) }
        return try await saveAssistant(current, data, organizationID: organizationID)
    }

    /// Makes an earlier version current again.
    public func setLatestVersion(_ key: String, version: Int, organizationID: String) async throws -> AssistantView {
        let current = try await assistant(key, organizationID: organizationID)
        guard let chosen = current.data.versions.first(where: { $0.version == version }) else {
            throw AgentProtocolError.notFound(kind: "assistant_version", id: "\(key)@\(version)")
        }
        var data = current.data
        data.version = chosen.version
        data.name = chosen.name
        data.description = chosen.description
        data.config = chosen.config
        data.context = chosen.context
        data.metadata = chosen.metadata
        return try await saveAssistant(current, data, organizationID: organizationID)
    }

    public func assistantVersions(_ key: String, organizationID: String) async throws -> [JSONValue] {
        let current = try await assistant(key, organizationID: organizationID)
        let versions = current.data.versions.isEmpty ? [Self.version(of: current.data)] : current.data.versions
        return versions.reversed().map { version in
            [
                "assistant_id": .string(current.id), "graph_id": .string(current.data.graphID),
                "version": .number(Double(version.version)), "name": .string(version.name),
                "description": JSONValue(version.description), "config": version.config, "context": version.context,
                "metadata": version.metadata, "created_at": ProtocolTime.string(version.createdAt),
            ]
        }
    }

    private func saveAssistant(_ current: AssistantView, _ data: AssistantData, organizationID: String) async throws
        -> AssistantView
    {
        let agent = try await services.agents.find(data.agentID, organizationID: organizationID)
        var patch = AgentPatch()
        if let prompt = data.config["configurable"]?["system_prompt"]?.stringValue { patch.systemPrompt = prompt }
        if let model = data.config["configurable"]?["model"]?.stringValue { patch.defaultModelID = model }
        if patch.systemPrompt != nil || patch.defaultModelID != nil {
            _ = try await services.agents.update(agent, with: patch)
        }
        let record: ProtocolRecord
        if try await records.record(.assistant, id: current.id, organizationID: organizationID) == nil {
            var fresh = ProtocolRecord(kind: .assistant, id: current.id, organizationID: organizationID, data: .encoding(data))
            fresh.createdAt = current.createdAt
            try await records.insertRecord(fresh)
            record = fresh
        } else {
            record = try await records.updateRecord(.assistant, id: current.id, organizationID: organizationID) {
                $0.data = .encoding(data)
            }
        }
        return AssistantView(id: current.id, data: data, createdAt: record.createdAt, updatedAt: record.updatedAt)
    }

    /// Deletes an assistant made through this API (its agent is archived); a graph's default
    /// assistant is its agent and is deleted through `/v1/agents`.
    public func deleteAssistant(_ key: String, organizationID: String) async throws {
        let current = try await assistant(key, organizationID: organizationID)
        let agent = try await services.agents.find(current.data.agentID, organizationID: organizationID)
        guard agent.tags.contains(Self.assistantTag) else {
            throw AgentProtocolError.conflict(
                "Assistant '\(current.id)' is the default assistant of graph '\(current.data.graphID)'; archive the agent instead")
        }
        _ = try await records.deleteRecord(.assistant, id: current.id, organizationID: organizationID)
        _ = try await services.agents.archive(agent)
    }

    /// Every assistant of the organization (stored ones and the graphs' defaults) matching the filters.
    public func searchAssistants(_ body: JSONValue, organizationID: String) async throws -> (page: [AssistantView], total: Int) {
        let request = try ProtocolBody(body, name: "search")
        let metadata = try request.object("metadata")
        let graphID = try request.string("graph_id", maxBytes: 200)
        let name = try request.string("name", maxBytes: 200)
        let limit = try request.integer("limit", default: 10, range: 1...1000)
        let offset = try request.integer("offset", default: 0, range: 0...Int(Int32.max))
        let sortBy = try request.choice(
            "sort_by", ["assistant_id", "graph_id", "name", "created_at", "updated_at"], default: "created_at")
        let descending = try request.choice("sort_order", ["asc", "desc"], default: "desc") == "desc"

        var all: [AssistantView] = []
        for record in try await records.records(.assistant, organizationID: organizationID, sessionID: nil) {
            all.append(AssistantView(
                id: record.id, data: try record.decoded(AssistantData.self), createdAt: record.createdAt,
                updatedAt: record.updatedAt))
        }
        let stored = Set(all.map(\.id))
        let agents = try await store.listAgents(
            organizationID: organizationID, includeArchived: false, search: nil, offset: 0, limit: Self.maxListAgents)
        for agent in agents.items
        where agent.status == .active && !agent.tags.contains(Self.assistantTag) && !stored.contains(agent.id) {
            all.append(Self.defaultAssistant(agent))
        }
        let matching = all.filter { view in
            (graphID == nil || view.data.graphID == graphID)
                && (name == nil || view.data.name.localizedCaseInsensitiveContains(name ?? ""))
                && (metadata.map { Self.contains(view.data.metadata, $0) } ?? true)
        }
        func less(_ lhs: AssistantView, _ rhs: AssistantView) -> Bool {
            switch sortBy {
            case "assistant_id": lhs.id < rhs.id
            case "graph_id": lhs.data.graphID < rhs.data.graphID
            case "name": lhs.data.name < rhs.data.name
            case "updated_at": lhs.updatedAt < rhs.updatedAt
            default: lhs.createdAt < rhs.createdAt
            }
        }
        let sorted = matching.sorted { descending ? less($1, $0) : less($0, $1) }
        return (Array(sorted.dropFirst(offset).prefix(limit)), matching.count)
    }

    static func version(of data: AssistantData) -> AssistantVersion {
        AssistantVersion(
            version: data.version, name: data.name, description: data.description, config: data.config,
            context: data.context, metadata: data.metadata, createdAt: Date())
    }

    /// `metadata` filter semantics: every key of the filter has an equal value in the metadata.
    static func contains(_ metadata: JSONValue, _ filter: JSONValue) -> Bool {
        guard let filter = filter.objectValue else { return true }
        return filter.allSatisfy { key, value in metadata[key] == value }
    }

    /// `patch`'s keys over `base`'s.
    static func merging(_ base: JSONValue, _ patch: JSONValue) -> JSONValue {
        var object = base.objectValue ?? [:]
        for (key, value) in patch.objectValue ?? [:] { object[key] = value }
        return .object(object)
    }

    /// A caller's metadata patch over the stored metadata, within the size of one stored object,
    /// so repeated patches cannot grow a record without bound.
    static func patchedMetadata(_ base: JSONValue, _ patch: JSONValue) throws(AgentProtocolError) -> JSONValue {
        let merged = merging(base, patch)
        guard merged.jsonString.utf8.count <= ProtocolBody.maxObjectBytes else {
            throw .invalid("metadata would exceed \(ProtocolBody.maxObjectBytes) bytes of JSON")
        }
        return merged
    }
}
