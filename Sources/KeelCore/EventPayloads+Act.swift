import Foundation

/// `act.started`: a batch of tool calls begins.
public struct ActStartedPayload: EventPayload {
    public static let eventType = EventType.actStarted

    public struct Call: Codable, Sendable, Hashable {
        public var id: String
        public var name: String
        public init(id: String, name: String) {
            self.id = id
            self.name = name
        }
    }

    public var toolCalls: [Call]

    enum CodingKeys: String, CodingKey {
        case toolCalls = "tool_calls"
    }

    public init(toolCalls: [Call]) { self.toolCalls = toolCalls }
}

/// `tool.started`: one server tool call begins.
public struct ToolStartedPayload: EventPayload {
    public static let eventType = EventType.toolStarted
    public var toolCall: ToolCall

    enum CodingKeys: String, CodingKey {
        case toolCall = "tool_call"
    }

    public init(toolCall: ToolCall) { self.toolCall = toolCall }
}

/// `tool.completed`: one tool call ended; `status` is success, error, timeout or cancelled.
public struct ToolCompletedPayload: EventPayload {
    public static let eventType = EventType.toolCompleted
    public var toolCallID: String
    public var toolName: String
    public var success: Bool
    public var status: String
    public var durationMS: Int
    /// Absent when the call produced no result.
    public var result: JSONValue?
    public var error: String?

    enum CodingKeys: String, CodingKey {
        case toolCallID = "tool_call_id"
        case toolName = "tool_name"
        case success, status
        case durationMS = "duration_ms"
        case result, error
    }

    public init(
        toolCallID: String, toolName: String, success: Bool, status: String, durationMS: Int, result: JSONValue?,
        error: String?
    ) {
        self.toolCallID = toolCallID
        self.toolName = toolName
        self.success = success
        self.status = status
        self.durationMS = durationMS
        self.result = result
        self.error = error
    }

    /// `status`, `success` and `duration_ms` are derived when absent, so tool results logged before
    /// those fields existed still read back as the results they were.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        toolCallID = try container.decode(String.self, forKey: .toolCallID)
        toolName = try container.decode(String.self, forKey: .toolName)
        result = try container.decodeIfPresent(JSONValue.self, forKey: .result)
        error = try container.decodeIfPresent(String.self, forKey: .error)
        status = try container.decodeIfPresent(String.self, forKey: .status) ?? (error == nil ? "success" : "error")
        success = try container.decodeIfPresent(Bool.self, forKey: .success) ?? (status == "success")
        durationMS = try container.decodeIfPresent(Int.self, forKey: .durationMS) ?? 0
    }
}

/// `act.completed`: the batch of tool calls ended (`completed` false when the iteration cap
/// skipped it).
public struct ActCompletedPayload: EventPayload {
    public static let eventType = EventType.actCompleted
    public var completed: Bool
    public var successCount: Int
    public var errorCount: Int
    public var durationMS: Int

    enum CodingKeys: String, CodingKey {
        case completed
        case successCount = "success_count"
        case errorCount = "error_count"
        case durationMS = "duration_ms"
    }

    public init(completed: Bool, successCount: Int, errorCount: Int, durationMS: Int) {
        self.completed = completed
        self.successCount = successCount
        self.errorCount = errorCount
        self.durationMS = durationMS
    }
}

/// `tool.call_requested`: client-side tool calls the client must run; the session waits for their
/// results (`POST /v1/sessions/{id}/tool-results`).
public struct ToolCallRequestedPayload: EventPayload {
    public static let eventType = EventType.toolCallRequested
    public var toolCalls: [ToolCall]

    enum CodingKeys: String, CodingKey {
        case toolCalls = "tool_calls"
    }

    public init(toolCalls: [ToolCall]) { self.toolCalls = toolCalls }
}
