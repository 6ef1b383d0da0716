import Foundation

/// Everything one turn needs, resolved before the loop starts: the merged prompt and tools,
/// the model and where to reach it, and the loop's limits.
public struct TurnPlan: Sendable {
    public var sessionID: String
    public var agentID: String?
    /// The agent's display name (or addressable name), for traces.
    public var agentName: String?
    public var turnID: String
    public var inputMessageID: String
    /// The model name sent to the provider.
    public var model: String
    /// The model reference the session asked for (e.g. `openai/gpt-4o-mini`).
    public var modelReference: String
    public var providerID: String?
    public var endpoint: LLMEndpoint
    public var systemPrompt: String
    public var tools: [any Tool]
    /// Tools the client runs (`type: client_side`): offered to the model beside `tools`; a call to
    /// one makes the turn wait for the client's result.
    public var clientTools: [ToolDefinition]
    /// Offers `ask_user`, whose calls wait for the user's answers.
    public var askUser: Bool
    /// Which calls are held for a person's approval before they run.
    public var approvalRule: ToolApprovalRule
    public var maxIterations: Int
    public var parallelToolCalls: Bool
    public var toolTimeout: Duration
    /// Text deltas are coalesced into one `output.message.delta` per interval.
    public var deltaBatchInterval: Duration
    public var reasoningEffort: String?

    public init(
        sessionID: String, agentID: String?, agentName: String? = nil, turnID: String = PublicID.make(.turn), inputMessageID: String,
        model: String, modelReference: String, providerID: String?, endpoint: LLMEndpoint, systemPrompt: String,
        tools: [any Tool], maxIterations: Int = TurnPlan.defaultMaxIterations, parallelToolCalls: Bool = true,
        toolTimeout: Duration = .seconds(60), deltaBatchInterval: Duration = .milliseconds(100),
        reasoningEffort: String? = nil, clientTools: [ToolDefinition] = [], askUser: Bool = false,
        approvalRule: ToolApprovalRule = ToolApprovalRule()
    ) {
        self.sessionID = sessionID
        self.agentID = agentID
        self.agentName = agentName
        self.turnID = turnID
        self.inputMessageID = inputMessageID
        self.model = model
        self.modelReference = modelReference
        self.providerID = providerID
        self.endpoint = endpoint
        self.systemPrompt = systemPrompt
        self.tools = tools
        self.clientTools = clientTools
        self.askUser = askUser
        self.approvalRule = approvalRule
        self.maxIterations = maxIterations
        self.parallelToolCalls = parallelToolCalls
        self.toolTimeout = toolTimeout
        self.deltaBatchInterval = deltaBatchInterval
        self.reasoningEffort = reasoningEffort
    }

    /// One iteration is one model call; the cap bounds runaway tool loops.
    public static let defaultMaxIterations = 100

    public var context: EventContext { EventContext(turnID: turnID, inputMessageID: inputMessageID) }

    /// What the model is offered: the server tools, then `ask_user` and the client tools whose
    /// names no server tool takes (`ask_user` of the capability wins over a client tool's).
    public var offeredTools: [ToolDefinition] {
        let server = tools.map(\.definition)
        var names = Set(server.map(\.name))
        var offered = server
        if askUser, !names.contains(AskUser.toolName) {
            offered.append(AskUser.definition)
            names.insert(AskUser.toolName)
        }
        return offered + clientTools.filter { !names.contains($0.name) }
    }

    private func isServerTool(_ name: String) -> Bool { tools.contains { $0.definition.name == name } }

    /// Whether a call asks the user questions (`ask_user`, when no server tool takes the name).
    public func isQuestion(_ call: ToolCall) -> Bool {
        askUser && call.name == AskUser.toolName && !isServerTool(call.name)
    }

    /// Whether a call's result comes from outside the server: a client tool or a question.
    public func isClientCall(_ call: ToolCall) -> Bool {
        !isServerTool(call.name) && (isQuestion(call) || clientTools.contains { $0.name == call.name })
    }

    /// Whether a call is held for approval before it runs (questions never are).
    public func needsApproval(_ call: ToolCall) -> Bool {
        !isQuestion(call) && approvalRule.covers(call.name)
    }
}

/// How a turn ended (cancellation is reported by throwing `CancellationError`).
public enum TurnOutcome: Codable, Sendable, Hashable {
    case completed(iterations: Int, usage: Usage, finalMessageID: String?, reachedIterationCap: Bool)
    case failed(iterations: Int, usage: Usage, errorCode: String)

    public var iterations: Int {
        switch self {
        case .completed(let iterations, _, _, _), .failed(let iterations, _, _): iterations
        }
    }

    public var usage: Usage {
        switch self {
        case .completed(_, let usage, _, _), .failed(_, let usage, _): usage
        }
    }
}

/// Where the loop writes its events. The sink assigns ids and sequence numbers.
public protocol TurnEventSink: Sendable {
    @discardableResult
    func emit(_ type: EventType, context: EventContext, data: JSONValue) async throws -> Event
}

/// The texts users see when something goes wrong; the seed fixes the first one.
public enum UserFacingText {
    public static let llmFailure = "I encountered an error while processing your request. Please try again later."
    public static let turnFailure = "An error occurred while processing your request."
    public static let cancelRequest = "User requested to cancel the work."
    public static let cancelled = "Work was cancelled by user."
    /// Error results of calls whose wait ended without the client's or a person's input.
    public static let clientResultTimedOut = "Timed out waiting for client tool results"
    public static let approvalTimedOut = "Timed out waiting for tool approval"
    public static let supersededByMessage = "Cancelled: user sent a new message"
}
