import Foundation

/// `turn.started`: the first step of a turn.
public struct TurnStartedPayload: EventPayload {
    public static let eventType = EventType.turnStarted
    public var turnID: String
    public var inputMessageID: String
    public var inputContent: String
    @ExplicitNull public var agentID: String?
    @ExplicitNull public var agentName: String?

    enum CodingKeys: String, CodingKey {
        case turnID = "turn_id"
        case inputMessageID = "input_message_id"
        case inputContent = "input_content"
        case agentID = "agent_id"
        case agentName = "agent_name"
    }

    public init(turnID: String, inputMessageID: String, inputContent: String, agentID: String?, agentName: String?) {
        self.turnID = turnID
        self.inputMessageID = inputMessageID
        self.inputContent = inputContent
        self.agentID = agentID
        self.agentName = agentName
    }
}

/// `turn.completed`: the model answered without tool calls, or the iteration cap stopped the
/// loop (`status` `max_iterations`, with `max_iterations`).
public struct TurnCompletedPayload: EventPayload {
    public static let eventType = EventType.turnCompleted
    public var turnID: String
    public var iterations: Int
    public var durationMS: Int
    public var usage: Usage
    public var finalMessageID: String
    public var finalAnswerPreview: String
    public var toolCallCount: Int
    public var llmCallCount: Int
    public var status: String
    public var timeToFirstTokenMS: Int?
    public var maxIterations: Int?

    enum CodingKeys: String, CodingKey {
        case turnID = "turn_id"
        case iterations
        case durationMS = "duration_ms"
        case usage
        case finalMessageID = "final_message_id"
        case finalAnswerPreview = "final_answer_preview"
        case toolCallCount = "tool_call_count"
        case llmCallCount = "llm_call_count"
        case status
        case timeToFirstTokenMS = "time_to_first_token_ms"
        case maxIterations = "max_iterations"
    }

    public init(
        turnID: String, iterations: Int, durationMS: Int, usage: Usage, finalMessageID: String,
        finalAnswerPreview: String, toolCallCount: Int, llmCallCount: Int, status: String,
        timeToFirstTokenMS: Int? = nil, maxIterations: Int? = nil
    ) {
        self.turnID = turnID
        self.iterations = iterations
        self.durationMS = durationMS
        self.usage = usage
        self.finalMessageID = finalMessageID
        self.finalAnswerPreview = finalAnswerPreview
        self.toolCallCount = toolCallCount
        self.llmCallCount = llmCallCount
        self.status = status
        self.timeToFirstTokenMS = timeToFirstTokenMS
        self.maxIterations = maxIterations
    }
}

/// `turn.failed`: the turn ended with an error; `error` is the user-facing text.
public struct TurnFailedPayload: EventPayload {
    public static let eventType = EventType.turnFailed
    public var turnID: String
    public var error: String
    public var errorCode: String
    public var iterations: Int

    enum CodingKeys: String, CodingKey {
        case turnID = "turn_id"
        case error
        case errorCode = "error_code"
        case iterations
    }

    public init(turnID: String, error: String, errorCode: String, iterations: Int) {
        self.turnID = turnID
        self.error = error
        self.errorCode = errorCode
        self.iterations = iterations
    }
}

/// `turn.cancelled`: the cancel endpoint stopped the turn.
public struct TurnCancelledPayload: EventPayload {
    public static let eventType = EventType.turnCancelled
    public var turnID: String
    public var reason: String
    public var usage: Usage

    enum CodingKeys: String, CodingKey {
        case turnID = "turn_id"
        case reason, usage
    }

    public init(turnID: String, reason: String, usage: Usage) {
        self.turnID = turnID
        self.reason = reason
        self.usage = usage
    }
}
