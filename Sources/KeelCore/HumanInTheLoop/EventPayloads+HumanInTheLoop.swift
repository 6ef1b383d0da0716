import Foundation

/// `tool.approval_requested`: calls held for a person's decision; the session waits
/// (`POST /v1/sessions/{id}/tool-approvals`).
public struct ToolApprovalRequestedPayload: EventPayload {
    public static let eventType = EventType.toolApprovalRequested
    public var toolCalls: [ToolCall]

    enum CodingKeys: String, CodingKey {
        case toolCalls = "tool_calls"
    }

    public init(toolCalls: [ToolCall]) { self.toolCalls = toolCalls }
}

/// `tool.approval_decided`: one held call was approved (it runs) or rejected (the model gets an
/// error result with the reason) — by a person, the deadline or a new message.
public struct ToolApprovalDecidedPayload: EventPayload {
    public static let eventType = EventType.toolApprovalDecided
    public var toolCallID: String
    public var toolName: String
    public var approved: Bool
    public var reason: String?

    enum CodingKeys: String, CodingKey {
        case toolCallID = "tool_call_id"
        case toolName = "tool_name"
        case approved, reason
    }

    public init(toolCallID: String, toolName: String, approved: Bool, reason: String?) {
        self.toolCallID = toolCallID
        self.toolName = toolName
        self.approved = approved
        self.reason = reason
    }
}

/// `question.requested`: the model asked the user (`ask_user`); the session waits for the
/// answers (`POST /v1/sessions/{id}/question-answers`).
public struct QuestionRequestedPayload: EventPayload {
    public static let eventType = EventType.questionRequested
    public var toolCallID: String
    public var questions: [UserQuestion]

    enum CodingKeys: String, CodingKey {
        case toolCallID = "tool_call_id"
        case questions
    }

    public init(toolCallID: String, questions: [UserQuestion]) {
        self.toolCallID = toolCallID
        self.questions = questions
    }
}
