import KeelTestSupport
import Foundation
import Hummingbird
import KeelCore
import KeelLLM
import Synchronization

/// Collects deltas from `onDelta` in arrival order.
final class DeltaRecorder: Sendable {
    private let deltas = Mutex<[LLMDelta]>([])

    var all: [LLMDelta] { deltas.withLock { $0 } }

    var texts: [String] {
        all.compactMap { if case .text(let text) = $0 { text } else { nil } }
    }

    var thoughts: [String] {
        all.compactMap { if case .thinking(let text) = $0 { text } else { nil } }
    }

    func record(_ delta: LLMDelta) {
        deltas.withLock { $0.append(delta) }
    }
}

/// A transport with test-sized timeouts and near-zero backoff.
func testTransport(idleTimeout: Duration = .seconds(5), maxRetries: Int = 3) -> StreamingHTTPTransport {
    StreamingHTTPTransport(
        configuration: .init(
            headTimeout: .seconds(5), idleTimeout: idleTimeout,
            retry: RetryPolicy(maxRetries: maxRetries, baseDelay: .milliseconds(5), maxDelay: .milliseconds(50))))
}

/// A conversation with one completed tool round-trip, to check the history mapping.
enum SampleConversation {
    static let weatherTool = ToolDefinition(
        name: "get_weather", description: "Current weather for a city",
        parameters: [
            "type": "object", "properties": ["location": ["type": "string"]], "required": ["location"],
            "additionalProperties": false,
        ])

    static let messages: [Message] = [
        Message(role: .user, content: [.text("What's the weather in Paris and Rome?")]),
        Message(
            role: .agent,
            content: [
                .text("Checking."),
                .toolCall(ToolCall(id: "call_paris", name: "get_weather", arguments: ["location": "Paris"])),
                .toolCall(ToolCall(id: "call_rome", name: "get_weather", arguments: ["location": "Rome"])),
            ]),
        Message(
            role: .toolResult,
            content: [
                .toolResult(toolCallID: "call_paris", result: ["temp_c": 18], error: nil),
                .toolResult(toolCallID: "call_rome", result: nil, error: "service unavailable"),
            ]),
        Message(role: .user, content: [.text("And in Berlin?")]),
    ]

    static func request(model: String, reasoningEffort: String? = nil) -> LLMRequest {
        LLMRequest(
            model: model, systemPrompt: "You are terse.", messages: messages, tools: [weatherTool],
            parallelToolCalls: false, reasoningEffort: reasoningEffort)
    }
}
