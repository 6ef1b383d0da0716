import KeelCore

/// The waits of a Keel turn (tool approvals, `ask_user` questions, client-side tool calls) as
/// LangGraph interrupts: `{"value": …, "id": …}`, the id being the event that opened the wait.
enum Interrupts {
    static let waitTypes: Set<EventType> = [
        EventType.toolApprovalRequested, EventType.questionRequested, EventType.toolCallRequested,
    ]

    static func interrupt(from event: Event) -> JSONValue? {
        let value: JSONValue
        switch event.type {
        case EventType.toolApprovalRequested:
            guard let payload = try? event.payload(as: ToolApprovalRequestedPayload.self) else { return nil }
            value = [
                "type": "tool_approval",
                "action_requests": .array(payload.toolCalls.map(request)),
                "description": "Approve or reject these tool calls: resume with true/false, or {\"decisions\": [...]}",
            ]
        case EventType.questionRequested:
            guard let payload = try? event.payload(as: QuestionRequestedPayload.self) else { return nil }
            value = [
                "type": "question", "tool_call_id": .string(payload.toolCallID),
                "questions": .encoding(payload.questions),
            ]
        case EventType.toolCallRequested:
            guard let payload = try? event.payload(as: ToolCallRequestedPayload.self) else { return nil }
            value = ["type": "client_tool_calls", "tool_calls": .array(payload.toolCalls.map(request))]
        default:
            return nil
        }
        return ["value": value, "id": .string(event.id), "when": "during", "resumable": true]
    }

    private static func request(_ call: ToolCall) -> JSONValue {
        ["id": .string(call.id), "name": .string(call.name), "args": call.arguments]
    }
}
