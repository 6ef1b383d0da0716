import Foundation

public enum AgentStatus: String, Codable, Sendable {
    case active, archived, deleted
}

/// A reference to a capability, optionally configured.
public struct CapabilityRef: Codable, Sendable, Hashable {
    public var ref: String
    public var config: JSONValue?

    public init(ref: String, config: JSONValue? = nil) {
        self.ref = ref
        self.config = config
    }
}

/// A tool defined by the client (executed outside the server) or by the runtime.
public struct ToolDefinition: Codable, Sendable, Hashable {
    public var type: String
    public var name: String
    public var description: String
    public var parameters: JSONValue
    /// `"requires_approval"` (or `{"requires_approval": true}`) holds each call for approval.
    public var policy: JSONValue?

    public init(
        type: String = "builtin", name: String, description: String, parameters: JSONValue, policy: JSONValue? = nil
    ) {
        self.type = type
        self.name = name
        self.description = description
        self.parameters = parameters
        self.policy = policy
    }

    enum CodingKeys: String, CodingKey { case type, name, description, parameters, policy }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        type = try container.decodeIfPresent(String.self, forKey: .type) ?? "client_side"
        name = try container.decode(String.self, forKey: .name)
        description = try container.decodeIfPresent(String.self, forKey: .description) ?? ""
        parameters = try container.decodeIfPresent(JSONValue.self, forKey: .parameters) ?? ["type": "object", "properties": [:]]
        policy = try container.decodeIfPresent(JSONValue.self, forKey: .policy)
    }
}

/// An agent: a system prompt, a default model and the capabilities it may use.
public struct Agent: Codable, Sendable, Hashable {
    public var id: String
    public var organizationID: String
    public var name: String
    public var displayName: String?
    public var description: String?
    public var systemPrompt: String
    public var defaultModelID: String?
    public var harnessID: String
    public var capabilities: [CapabilityRef]
    public var tools: [ToolDefinition]
    public var tags: [String]
    public var maxIterations: Int?
    public var parallelToolCalls: Bool?
    public var status: AgentStatus
    public var archivedAt: Date?
    public var createdAt: Date
    public var updatedAt: Date

    enum CodingKeys: String, CodingKey {
        case id
        case organizationID = "organization_id"
        case name
        case displayName = "display_name"
        case description
        case systemPrompt = "system_prompt"
        case defaultModelID = "default_model_id"
        case harnessID = "harness_id"
        case capabilities, tools, tags
        case maxIterations = "max_iterations"
        case parallelToolCalls = "parallel_tool_calls"
        case status
        case archivedAt = "archived_at"
        case createdAt = "created_at"
        case updatedAt = "updated_at"
    }

    public init(
        id: String = PublicID.make(.agent), organizationID: String = BuiltIn.organizationID, name: String,
        displayName: String? = nil, description: String? = nil, systemPrompt: String, defaultModelID: String? = nil,
        harnessID: String = BuiltIn.genericHarnessID, capabilities: [CapabilityRef] = [], tools: [ToolDefinition] = [],
        tags: [String] = [], maxIterations: Int? = nil, parallelToolCalls: Bool? = nil, status: AgentStatus = .active,
        now: Date = Date()
    ) {
        self.id = id
        self.organizationID = organizationID
        self.name = name
        self.displayName = displayName
        self.description = description
        self.systemPrompt = systemPrompt
        self.defaultModelID = defaultModelID
        self.harnessID = harnessID
        self.capabilities = capabilities
        self.tools = tools
        self.tags = tags
        self.maxIterations = maxIterations
        self.parallelToolCalls = parallelToolCalls
        self.status = status
        self.createdAt = now
        self.updatedAt = now
    }
}
