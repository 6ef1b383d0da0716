import Foundation
import Testing

@testable import KeelCore

/// Pins the `data` JSON of every event type: the typed payloads must produce exactly what the
/// producers wrote as string-keyed literals before (captured below, key for key, null for null),
/// and carry the fields the Everruns event reference (§4) lists for the type.
@Suite("Event payload golden JSON")
struct EventPayloadGoldenTests {
    static let usage = Usage(inputTokens: 12, outputTokens: 5, cacheReadTokens: 3, cacheCreationTokens: 1)
    static let call = ToolCall(id: "call_1", name: "search", arguments: ["q": "cats"])
    static let message = Message(
        id: "message_1", role: .agent, content: [.text("Hi"), .toolCall(call)],
        createdAt: Date(timeIntervalSince1970: 1_700_000_000))

    struct Golden: Sendable, CustomTestStringConvertible {
        var payload: any EventPayload
        var type: EventType
        /// Today's producer literal.
        var expected: JSONValue
        /// The fields the Everruns reference requires for the type (its `?` fields excluded).
        var everrunsFields: Set<String>
        var testDescription: String { type.rawValue }
    }

    static let goldens: [Golden] = [
        Golden(
            payload: InputMessagePayload(message: message), type: .inputMessage,
            expected: ["message": .encoding(message)], everrunsFields: ["message"]),
        Golden(
            payload: SessionStartedPayload(agentID: "agent_1", modelID: nil), type: .sessionStarted,
            expected: ["agent_id": "agent_1", "model_id": .null], everrunsFields: ["agent_id"]),
        Golden(
            payload: SessionActivatedPayload(turnID: "turn_1", inputMessageID: "message_0"), type: .sessionActivated,
            expected: ["turn_id": "turn_1", "input_message_id": "message_0"],
            everrunsFields: ["turn_id", "input_message_id"]),
        Golden(
            payload: SessionIdledPayload(turnID: "turn_1", iterations: 2, usage: usage), type: .sessionIdled,
            expected: ["turn_id": "turn_1", "iterations": 2, "usage": usage.json], everrunsFields: ["turn_id", "usage"]),
        Golden(
            payload: TurnStartedPayload(
                turnID: "turn_1", inputMessageID: "message_0", inputContent: "hello", agentID: nil, agentName: "helper"),
            type: .turnStarted,
            expected: ["turn_id": "turn_1", "input_message_id": "message_0", "input_content": "hello",
                       "agent_id": .null, "agent_name": "helper"],
            everrunsFields: ["turn_id", "input_message_id"]),
        Golden(
            payload: TurnCompletedPayload(
                turnID: "turn_1", iterations: 2, durationMS: 900, usage: usage, finalMessageID: "message_1",
                finalAnswerPreview: "Hi", toolCallCount: 1, llmCallCount: 2, status: "max_iterations",
                timeToFirstTokenMS: 120, maxIterations: 2),
            type: .turnCompleted,
            expected: ["turn_id": "turn_1", "iterations": 2, "duration_ms": 900, "usage": usage.json,
                       "final_message_id": "message_1", "final_answer_preview": "Hi", "tool_call_count": 1,
                       "llm_call_count": 2, "status": "max_iterations", "time_to_first_token_ms": 120,
                       "max_iterations": 2],
            everrunsFields: ["turn_id", "iterations"]),
        Golden(
            payload: TurnCompletedPayload(
                turnID: "turn_1", iterations: 1, durationMS: 5, usage: Usage(), finalMessageID: "message_1",
                finalAnswerPreview: "", toolCallCount: 0, llmCallCount: 1, status: "completed"),
            type: .turnCompleted,
            expected: ["turn_id": "turn_1", "iterations": 1, "duration_ms": 5, "usage": Usage().json,
                       "final_message_id": "message_1", "final_answer_preview": "", "tool_call_count": 0,
                       "llm_call_count": 1, "status": "completed"],
            everrunsFields: ["turn_id", "iterations"]),
        Golden(
            payload: TurnFailedPayload(
                turnID: "turn_1", error: UserFacingText.turnFailure, errorCode: "llm_error", iterations: 1),
            type: .turnFailed,
            expected: ["turn_id": "turn_1", "error": .string(UserFacingText.turnFailure), "error_code": "llm_error",
                       "iterations": 1],
            everrunsFields: ["turn_id", "error"]),
        Golden(
            payload: TurnCancelledPayload(turnID: "turn_1", reason: "user_requested", usage: usage), type: .turnCancelled,
            expected: ["turn_id": "turn_1", "reason": "user_requested", "usage": usage.json], everrunsFields: ["turn_id"]),
        Golden(
            payload: ReasonStartedPayload(
                agentID: "agent_1", iteration: 1,
                metadata: .init(model: "gpt-4o", modelID: "provider_1/gpt-4o", providerID: nil, provider: "openai")),
            type: .reasonStarted,
            expected: ["agent_id": "agent_1", "iteration": 1,
                       "metadata": ["model": "gpt-4o", "model_id": "provider_1/gpt-4o", "provider_id": .null,
                                    "provider": "openai"]],
            everrunsFields: ["agent_id", "metadata"]),
        Golden(
            payload: ReasonThinkingStartedPayload(turnID: "turn_1", model: "o3"), type: .reasonThinkingStarted,
            expected: ["turn_id": "turn_1", "model": "o3"], everrunsFields: ["turn_id"]),
        Golden(
            payload: ReasonThinkingDeltaPayload(turnID: "turn_1", delta: "b", accumulated: "ab"),
            type: .reasonThinkingDelta,
            expected: ["turn_id": "turn_1", "delta": "b", "accumulated": "ab"], everrunsFields: ["delta", "accumulated"]),
        Golden(
            payload: ReasonThinkingCompletedPayload(turnID: "turn_1", thinking: "ab"), type: .reasonThinkingCompleted,
            expected: ["turn_id": "turn_1", "thinking": "ab"], everrunsFields: ["thinking"]),
        Golden(
            payload: OutputMessageStartedPayload(turnID: "turn_1", messageID: "message_1", model: "gpt-4o", iteration: 1),
            type: .outputMessageStarted,
            expected: ["turn_id": "turn_1", "message_id": "message_1", "model": "gpt-4o", "iteration": 1],
            everrunsFields: ["turn_id", "message_id"]),
        Golden(
            payload: OutputMessageDeltaPayload(turnID: "turn_1", messageID: "message_1", delta: "i", accumulated: "Hi"),
            type: .outputMessageDelta,
            expected: ["turn_id": "turn_1", "message_id": "message_1", "delta": "i", "accumulated": "Hi"],
            everrunsFields: ["turn_id", "message_id", "delta", "accumulated"]),
        Golden(
            payload: OutputMessageCompletedPayload(message: message, model: "gpt-4o", usage: usage),
            type: .outputMessageCompleted,
            expected: ["message": .encoding(message), "metadata": ["model": "gpt-4o"], "usage": usage.json],
            everrunsFields: ["message", "metadata", "usage"]),
        Golden(
            payload: OutputMessageCompletedPayload(
                message: message, model: "gpt-4o", usage: Usage(), errorCode: "provider_rate_limited"),
            type: .outputMessageCompleted,
            expected: ["message": .encoding(message), "metadata": ["model": "gpt-4o"], "usage": Usage().json,
                       "error_code": "provider_rate_limited"],
            everrunsFields: ["message", "metadata", "usage"]),
        Golden(
            payload: LLMGenerationPayload(
                tools: ["search"], output: .init(text: "Hi", toolCalls: [call]),
                metadata: .init(
                    model: "gpt-4o-2024", provider: "openai", usage: usage, durationMS: 300, success: true,
                    finishReasons: ["tool_calls"], responseID: .some(nil), timeToFirstTokenMS: 80)),
            type: .llmGeneration,
            expected: ["tools": ["search"], "output": ["text": "Hi", "tool_calls": [.encoding(call)]],
                       "metadata": ["model": "gpt-4o-2024", "provider": "openai", "usage": usage.json,
                                    "duration_ms": 300, "success": true, "finish_reasons": ["tool_calls"],
                                    "response_id": .null, "time_to_first_token_ms": 80]],
            everrunsFields: ["tools", "output", "metadata"]),
        Golden(
            payload: LLMGenerationPayload(
                tools: nil, output: .init(text: "", toolCalls: []),
                metadata: .init(model: "gpt-4o", provider: "openai", durationMS: 40, success: false, error: "llm_error")),
            type: .llmGeneration,
            expected: ["output": ["text": "", "tool_calls": []],
                       "metadata": ["model": "gpt-4o", "provider": "openai", "success": false, "error": "llm_error",
                                    "duration_ms": 40]],
            everrunsFields: ["output", "metadata"]),
        Golden(
            payload: ReasonCompletedPayload(
                success: true, textPreview: "Hi", hasToolCalls: true, toolCallCount: 1, error: nil, durationMS: 300,
                usage: usage),
            type: .reasonCompleted,
            expected: ["success": true, "text_preview": "Hi", "has_tool_calls": true, "tool_call_count": 1,
                       "duration_ms": 300, "usage": usage.json],
            everrunsFields: ["success", "text_preview", "has_tool_calls", "tool_call_count"]),
        Golden(
            payload: ReasonCompletedPayload(
                success: false, textPreview: nil, hasToolCalls: false, toolCallCount: 0, error: "llm_error",
                durationMS: 40, usage: nil),
            type: .reasonCompleted,
            expected: ["success": false, "error": "llm_error", "has_tool_calls": false, "tool_call_count": 0,
                       "duration_ms": 40],
            everrunsFields: ["success", "has_tool_calls", "tool_call_count"]),
        Golden(
            payload: ActStartedPayload(toolCalls: [.init(id: "call_1", name: "search")]), type: .actStarted,
            expected: ["tool_calls": [["id": "call_1", "name": "search"]]], everrunsFields: ["tool_calls"]),
        Golden(
            payload: ToolStartedPayload(toolCall: call), type: .toolStarted,
            expected: ["tool_call": .encoding(call)], everrunsFields: ["tool_call"]),
        Golden(
            payload: ToolCompletedPayload(
                toolCallID: "call_1", toolName: "search", success: true, status: "success", durationMS: 7,
                result: ["hits": 3], error: nil),
            type: .toolCompleted,
            expected: ["tool_call_id": "call_1", "tool_name": "search", "success": true, "status": "success",
                       "duration_ms": 7, "result": ["hits": 3]],
            everrunsFields: ["tool_call_id", "tool_name", "success", "status"]),
        Golden(
            payload: ToolCompletedPayload(
                toolCallID: "call_1", toolName: "search", success: false, status: "timeout", durationMS: 0,
                result: nil, error: "Tool timed out after 1s"),
            type: .toolCompleted,
            expected: ["tool_call_id": "call_1", "tool_name": "search", "success": false, "status": "timeout",
                       "duration_ms": 0, "error": "Tool timed out after 1s"],
            everrunsFields: ["tool_call_id", "tool_name", "success", "status"]),
        Golden(
            payload: ActCompletedPayload(completed: true, successCount: 1, errorCount: 0, durationMS: 9),
            type: .actCompleted,
            expected: ["completed": true, "success_count": 1, "error_count": 0, "duration_ms": 9],
            everrunsFields: ["completed", "success_count", "error_count"]),
        Golden(
            payload: ToolCallRequestedPayload(toolCalls: [ToolCall(id: "call_2", name: "get_location", arguments: ["precise": true])]),
            type: .toolCallRequested,
            expected: ["tool_calls": [["id": "call_2", "name": "get_location", "arguments": ["precise": true]]]],
            everrunsFields: ["tool_calls"]),
        Golden(
            payload: ToolApprovalRequestedPayload(toolCalls: [ToolCall(id: "call_3", name: "delete_file", arguments: ["path": "/a"])]),
            type: .toolApprovalRequested,
            expected: ["tool_calls": [["id": "call_3", "name": "delete_file", "arguments": ["path": "/a"]]]],
            everrunsFields: ["tool_calls"]),
        Golden(
            payload: ToolApprovalDecidedPayload(toolCallID: "call_3", toolName: "delete_file", approved: false, reason: "keep it"),
            type: .toolApprovalDecided,
            expected: ["tool_call_id": "call_3", "tool_name": "delete_file", "approved": false, "reason": "keep it"],
            everrunsFields: ["tool_call_id", "approved"]),
        Golden(
            payload: QuestionRequestedPayload(
                toolCallID: "call_4", questions: [UserQuestion(question: "Which city?", choices: ["Oslo", "Bern"])]),
            type: .questionRequested,
            expected: ["tool_call_id": "call_4", "questions": [["question": "Which city?", "choices": ["Oslo", "Bern"]]]],
            everrunsFields: ["tool_call_id", "questions"]),
    ]

    @Test("every payload encodes to today's JSON, carries the Everruns fields and decodes back", arguments: goldens)
    func golden(_ golden: Golden) throws {
        let draft = Self.draft(golden.payload)
        #expect(draft.type == golden.type)
        #expect(draft.data == golden.expected)
        let keys = Set(draft.data.objectValue?.keys ?? [:].keys)
        #expect(golden.everrunsFields.isSubset(of: keys), "missing \(golden.everrunsFields.subtracting(keys))")
        let event = Event(type: draft.type, sessionID: "session_1", sequence: 1, context: EventContext(), data: draft.data)
        #expect(try Self.roundTrips(golden.payload, through: event))
    }

    @Test("every documented event type has a golden payload")
    func everyTypeIsPinned() {
        #expect(Set(Self.goldens.map(\.type)) == EventType.all)
    }

    @Test("payload(as:) names the event when the type differs or the data does not decode")
    func payloadErrors() {
        let event = Event(
            id: "event_bad", type: .turnFailed, sessionID: "session_1", sequence: 1, context: EventContext(),
            data: ["turn_id": "turn_1"])
        #expect(throws: EventPayloadError.self) { try event.payload(as: TurnFailedPayload.self) }
        #expect(throws: EventPayloadError.self) { try event.payload(as: TurnCompletedPayload.self) }
        do {
            _ = try event.payload(as: TurnFailedPayload.self)
        } catch let error as EventPayloadError {
            #expect(error.eventID == "event_bad" && error.eventType == .turnFailed)
        } catch {
            Issue.record("unexpected error \(error)")
        }
    }

    @Test("the event type is one JSON string on the wire")
    func eventTypeIsAString() throws {
        let event = Event(
            id: "event_1", type: .turnFailed, sessionID: "session_1", sequence: 1, context: EventContext(), data: [:])
        let json = try #require(JSONValue.parse(String(decoding: try KeelJSON.encoder.encode(event), as: UTF8.self)))
        #expect(json["type"] == "turn.failed")
        #expect(try KeelJSON.decoder.decode(Event.self, from: KeelJSON.encoder.encode(event)).type == .turnFailed)
        #expect("\(EventType.turnFailed)" == "turn.failed")
    }

    private static func draft<Payload: EventPayload>(_ payload: Payload) -> EventDraft {
        EventDraft(payload, context: EventContext())
    }

    private static func roundTrips<Payload: EventPayload>(_ payload: Payload, through event: Event) throws -> Bool {
        try event.payload(as: Payload.self) == payload
    }
}
