import KeelCore

/// A capability reference as input: a `{ref, config}` object or, as older clients send, a plain id.
public struct CapabilityRefInput: Decodable, Sendable {
    public var value: CapabilityRef

    public init(_ value: CapabilityRef) {
        self.value = value
    }

    public init(from decoder: any Decoder) throws {
        if let id = try? decoder.singleValueContainer().decode(String.self) {
            value = CapabilityRef(ref: id)
        } else {
            value = try CapabilityRef(from: decoder)
        }
    }
}

/// A whole agent definition, as `POST /v1/agents` and `PUT /v1/agents/{id}` carry it.
public struct AgentInput: Decodable, Sendable {
    public var id: String?
    public var name: String
    public var displayName: String?
    public var description: String?
    public var systemPrompt: String
    public var defaultModelID: String?
    public var harnessID: String?
    public var harnessName: String?
    public var tags: [String]?
    public var capabilities: [CapabilityRefInput]?
    public var tools: [ToolDefinition]?
    public var maxIterations: Int?
    public var parallelToolCalls: Bool?

    public init(name: String, systemPrompt: String, id: String? = nil) {
        self.name = name
        self.systemPrompt = systemPrompt
        self.id = id
    }

    enum CodingKeys: String, CodingKey {
        case id, name
        case displayName = "display_name"
        case description
        case systemPrompt = "system_prompt"
        case defaultModelID = "default_model_id"
        case harnessID = "harness_id"
        case harnessName = "harness_name"
        case tags, capabilities, tools
        case maxIterations = "max_iterations"
        case parallelToolCalls = "parallel_tool_calls"
    }
}

/// A partial change to an agent (`PATCH /v1/agents/{id}`): every field optional.
public struct AgentPatch: Decodable, Sendable {
    public var name: String?
    public var displayName: String?
    public var description: String?
    public var systemPrompt: String?
    public var defaultModelID: String?
    public var tags: [String]?
    public var capabilities: [CapabilityRefInput]?
    public var tools: [ToolDefinition]?
    public var maxIterations: Int?
    public var parallelToolCalls: Bool?
    public var status: AgentStatus?

    public init() {}

    enum CodingKeys: String, CodingKey {
        case name
        case displayName = "display_name"
        case description
        case systemPrompt = "system_prompt"
        case defaultModelID = "default_model_id"
        case tags, capabilities, tools
        case maxIterations = "max_iterations"
        case parallelToolCalls = "parallel_tool_calls"
        case status
    }
}
