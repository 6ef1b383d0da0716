import Foundation

/// Session status as it appears on the wire (lowercase, no separators).
public enum SessionStatus: String, Codable, Sendable {
    case started, active, idle
    case waitingForToolResults = "waitingfortoolresults"
}

/// Token accounting, cumulative per turn or per session.
public struct Usage: Codable, Sendable, Hashable {
    public var inputTokens: Int
    public var outputTokens: Int
    public var cacheReadTokens: Int
    public var cacheCreationTokens: Int

    enum CodingKeys: String, CodingKey {
        case inputTokens = "input_tokens"
        case outputTokens = "output_tokens"
        case cacheReadTokens = "cache_read_tokens"
        case cacheCreationTokens = "cache_creation_tokens"
    }

    public init(inputTokens: Int = 0, outputTokens: Int = 0, cacheReadTokens: Int = 0, cacheCreationTokens: Int = 0) {
        self.inputTokens = inputTokens
        self.outputTokens = outputTokens
        self.cacheReadTokens = cacheReadTokens
        self.cacheCreationTokens = cacheCreationTokens
    }

    public static func + (lhs: Usage, rhs: Usage) -> Usage {
        Usage(
            inputTokens: lhs.inputTokens + rhs.inputTokens, outputTokens: lhs.outputTokens + rhs.outputTokens,
            cacheReadTokens: lhs.cacheReadTokens + rhs.cacheReadTokens,
            cacheCreationTokens: lhs.cacheCreationTokens + rhs.cacheCreationTokens)
    }

    public var json: JSONValue { .encoding(self) }
}

/// A conversation with an agent (or with the bare harness).
public struct Session: Codable, Sendable, Hashable {
    public var id: String
    public var organizationID: String
    public var harnessID: String
    public var agentID: String?
    public var title: String?
    public var locale: String?
    public var modelID: String?
    public var systemPrompt: String?
    public var capabilities: [CapabilityRef]
    public var tools: [ToolDefinition]
    public var tags: [String]
    public var maxIterations: Int?
    public var parallelToolCalls: Bool?
    public var status: SessionStatus
    /// Held tool calls waiting for a decision (`POST /v1/sessions/{id}/tool-approvals`).
    @EmptyByDefault public var pendingApprovals: [PendingApproval] = []
    /// `ask_user` question sets waiting for answers (`POST /v1/sessions/{id}/question-answers`).
    @EmptyByDefault public var pendingQuestions: [PendingQuestionSet] = []
    public var usage: Usage
    public var startedAt: Date?
    public var finishedAt: Date?
    public var createdAt: Date
    public var updatedAt: Date

    enum CodingKeys: String, CodingKey {
        case id
        case organizationID = "organization_id"
        case harnessID = "harness_id"
        case agentID = "agent_id"
        case title, locale
        case modelID = "model_id"
        case systemPrompt = "system_prompt"
        case capabilities, tools, tags
        case maxIterations = "max_iterations"
        case parallelToolCalls = "parallel_tool_calls"
        case status, usage
        case pendingApprovals = "pending_approvals"
        case pendingQuestions = "pending_questions"
        case startedAt = "started_at"
        case finishedAt = "finished_at"
        case createdAt = "created_at"
        case updatedAt = "updated_at"
    }

    public init(
        id: String = PublicID.make(.session), organizationID: String = BuiltIn.organizationID,
        harnessID: String = BuiltIn.genericHarnessID, agentID: String? = nil, title: String? = nil,
        locale: String? = nil, modelID: String? = nil, systemPrompt: String? = nil, capabilities: [CapabilityRef] = [],
        tools: [ToolDefinition] = [], tags: [String] = [], maxIterations: Int? = nil, parallelToolCalls: Bool? = nil,
        now: Date = Date()
    ) {
        self.id = id
        self.organizationID = organizationID
        self.harnessID = harnessID
        self.agentID = agentID
        self.title = title
        self.locale = locale
        self.modelID = modelID
        self.systemPrompt = systemPrompt
        self.capabilities = capabilities
        self.tools = tools
        self.tags = tags
        self.maxIterations = maxIterations
        self.parallelToolCalls = parallelToolCalls
        self.status = .started
        self.usage = Usage()
        self.createdAt = now
        self.updatedAt = now
    }
}
