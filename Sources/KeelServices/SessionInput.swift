import KeelCore

/// A new session (`POST /v1/sessions`): every field optional.
public struct SessionInput: Decodable, Sendable {
    public var agentID: String?
    public var agentName: String?
    public var harnessID: String?
    public var harnessName: String?
    public var title: String?
    public var locale: String?
    public var modelID: String?
    public var systemPrompt: String?
    public var tags: [String]?
    public var capabilities: [CapabilityRefInput]?
    public var tools: [ToolDefinition]?
    public var maxIterations: Int?
    public var parallelToolCalls: Bool?

    public init() {}

    enum CodingKeys: String, CodingKey {
        case agentID = "agent_id"
        case agentName = "agent_name"
        case harnessID = "harness_id"
        case harnessName = "harness_name"
        case title, locale
        case modelID = "model_id"
        case systemPrompt = "system_prompt"
        case tags, capabilities, tools
        case maxIterations = "max_iterations"
        case parallelToolCalls = "parallel_tool_calls"
    }
}

/// A change to a session (`PATCH /v1/sessions/{id}`).
public struct SessionPatch: Decodable, Sendable {
    public var title: String?
    public var locale: String?
    public var tags: [String]?
    public var modelID: String?

    public init() {}

    enum CodingKeys: String, CodingKey {
        case title, locale, tags
        case modelID = "model_id"
    }
}

/// A user message for a session (`POST /v1/sessions/{id}/messages`).
public struct MessageInput: Decodable, Sendable {
    public struct Inner: Decodable, Sendable {
        public var role: String?
        public var content: [ContentPart]

        public init(role: String? = nil, content: [ContentPart]) {
            self.role = role
            self.content = content
        }
    }

    public var message: Inner
    public var controls: JSONValue?
    public var metadata: JSONValue?
    public var tags: [String]?

    public init(message: Inner, controls: JSONValue? = nil, metadata: JSONValue? = nil, tags: [String]? = nil) {
        self.message = message
        self.controls = controls
        self.metadata = metadata
        self.tags = tags
    }
}
