import KeelTestSupport
import Foundation
import Hummingbird
import KeelCore
import KeelLLM
import Testing

@Suite struct AnthropicDriverTests {
    static let key = "sk-ant-api03-test-key-abcdef"

    private func generate(
        _ baseURL: String, request: LLMRequest = SampleConversation.request(model: "claude-sonnet-4-5"), key: String? = key,
        recorder: DeltaRecorder = DeltaRecorder()
    ) async throws -> LLMResponse {
        try await AnthropicDriver(transport: testTransport()).generate(
            request, endpoint: LLMEndpoint(providerType: .anthropic, apiKey: key, baseURL: baseURL)
        ) { recorder.record($0) }
    }

    @Test func streamsTextAndAssemblesToolInput() async throws {
        let recorder = DeltaRecorder()
        let (response, requests) = try await withFakeProvider({ _ in .stream(AnthropicFixtures.textAndToolUse, pieceSize: 53) }) {
            url, log in (try await generate(url, recorder: recorder), log.requests)
        }
        #expect(recorder.all == [.text("Okay"), .text(", let's check the weather for Berlin:")])
        #expect(response.text == "Okay, let's check the weather for Berlin:")
        #expect(response.toolCalls == [
            ToolCall(id: "toolu_01T1x1fJ34qAmk2tNTrN7Up6", name: "get_weather", arguments: ["location": "Berlin", "unit": "celsius"])
        ])
        #expect(response.finishReason == "tool_use")
        #expect(response.responseID == "msg_014p7gG3wDgGV9EUtLvnow3U")
        #expect(response.model == "claude-sonnet-4-5-20250929")
        #expect(response.usage == Usage(inputTokens: 472, outputTokens: 89, cacheReadTokens: 2048, cacheCreationTokens: 100))
        #expect(response.timeToFirstToken != nil)

        let request = try #require(requests.first)
        #expect(requests.count == 1)
        #expect(request.path == "/v1/messages")
        #expect(request.headers["x-api-key"] == Self.key)
        #expect(request.headers["anthropic-version"] == "2023-06-01")
        #expect(request.headers["authorization"] == nil)
        let body = request.body
        #expect(body["model"] == "claude-sonnet-4-5")
        #expect(body["system"] == "You are terse.")
        #expect(body["max_tokens"] == 4096)
        #expect(body["stream"] == true)
        #expect(body["thinking"] == nil)
        #expect(body["tool_choice"] == ["type": "auto", "disable_parallel_tool_use": true])
        #expect(body["tools"] == [
            [
                "name": "get_weather", "description": "Current weather for a city",
                "input_schema": SampleConversation.weatherTool.parameters,
            ]
        ])
        // Tool results and the following user text merge into one user turn: roles alternate.
        #expect(body["messages"] == [
            ["role": "user", "content": [["type": "text", "text": "What's the weather in Paris and Rome?"]]],
            [
                "role": "assistant",
                "content": [
                    ["type": "text", "text": "Checking."],
                    ["type": "tool_use", "id": "call_paris", "name": "get_weather", "input": ["location": "Paris"]],
                    ["type": "tool_use", "id": "call_rome", "name": "get_weather", "input": ["location": "Rome"]],
                ],
            ],
            [
                "role": "user",
                "content": [
                    ["type": "tool_result", "tool_use_id": "call_paris", "content": #"{"temp_c":18}"#, "is_error": false],
                    ["type": "tool_result", "tool_use_id": "call_rome", "content": "service unavailable", "is_error": true],
                    ["type": "text", "text": "And in Berlin?"],
                ],
            ],
        ])
    }

    @Test func streamsThinkingWithSignature() async throws {
        let recorder = DeltaRecorder()
        let request = LLMRequest(
            model: "claude-sonnet-4-5", systemPrompt: "", messages: [Message(role: .user, content: [.text("27 * 453?")])],
            reasoningEffort: "high", maxOutputTokens: 8000)
        let (response, body) = try await withFakeProvider({ _ in .stream(AnthropicFixtures.thinkingThenText, pieceSize: 29) }) {
            url, log in (try await generate(url, request: request, recorder: recorder), log.requests.first?.body ?? .null)
        }
        #expect(recorder.all == [
            .thinking("Let me solve this step by step:\n\n1. First break down 27 * 453"),
            .thinking("\n2. 453 = 400 + 50 + 3"),
            .text("27 * 453 = 12,231"),
        ])
        #expect(response.thinking == "Let me solve this step by step:\n\n1. First break down 27 * 453\n2. 453 = 400 + 50 + 3")
        #expect(response.thinkingSignature == "EqQBCgIYAhIM1gbcDa9GJwZA2b3hGgxBdjrkzLoky3dl1pkiMOYds")
        #expect(response.text == "27 * 453 = 12,231")
        #expect(response.finishReason == "end_turn")
        #expect(response.usage == Usage(inputTokens: 25, outputTokens: 120))
        #expect(body["thinking"] == ["type": "enabled", "budget_tokens": 16384])
        // max_tokens must exceed the budget; the requested 8000 stays available for the answer.
        #expect(body["max_tokens"] == 24384)
        #expect(body["system"] == nil)
    }

    @Test func thinkingIsOffForNone() async throws {
        let body = try await withFakeProvider({ _ in .stream(AnthropicFixtures.thinkingThenText) }) { url, log in
            _ = try await generate(
                url, request: LLMRequest(model: "m", systemPrompt: "s", messages: [], reasoningEffort: "none"))
            return log.requests.first?.body ?? .null
        }
        #expect(body["thinking"] == nil)
    }

    /// The pending tool calls' assistant turn would need its signed thinking block, which the
    /// history does not keep, so the continuation of a tool loop is sent without thinking.
    @Test func thinkingIsLeftOffInsideAToolLoop() async throws {
        let messages = Array(SampleConversation.messages.dropLast())
        let request = LLMRequest(model: "m", systemPrompt: "", messages: messages, reasoningEffort: "medium")
        let body = try await withFakeProvider({ _ in .stream(AnthropicFixtures.textAndToolUse) }) { url, log in
            _ = try await generate(url, request: request)
            return log.requests.first?.body ?? .null
        }
        #expect(body["thinking"] == nil)
        #expect(body["max_tokens"] == 4096)
    }

    @Test func errorEventAfterOutputFailsWithoutRetry() async throws {
        let recorder = DeltaRecorder()
        let (error, count) = try await withFakeProvider({ _ in .stream(AnthropicFixtures.midStreamError) }) { url, log in
            let error = await #expect(throws: LLMError.self) { try await generate(url, recorder: recorder) }
            return (error, log.count)
        }
        #expect(error == .server(status: 500))
        #expect(count == 1)
        #expect(recorder.texts == ["Hel"])
    }

    @Test func overloadedIsRetried() async throws {
        let (response, count) = try await withFakeProvider({ ordinal in
            ordinal == 0 ? .status(529, body: AnthropicFixtures.overloadedBody) : .stream(AnthropicFixtures.textAndToolUse)
        }) { url, log in (try await generate(url), log.count) }
        #expect(count == 2)
        #expect(response.toolCalls.count == 1)
    }

    @Test func forbiddenIsUnauthorized() async throws {
        let (error, count) = try await withFakeProvider({ _ in
            .status(403, body: #"{"type":"error","error":{"type":"permission_error","message":"no access"}}"#)
        }) { url, log in
            let error = await #expect(throws: LLMError.self) { try await generate(url) }
            return (error, log.count)
        }
        #expect(error == .unauthorized(status: 403))
        #expect(count == 1)
    }

    @Test func missingKeyFailsBeforeAnyRequest() async throws {
        let (error, count) = try await withFakeProvider({ _ in .stream(AnthropicFixtures.textAndToolUse) }) { url, log in
            let error = await #expect(throws: LLMError.self) { try await generate(url, key: nil) }
            return (error, log.count)
        }
        #expect(error == .missingAPIKey(provider: .anthropic))
        #expect(count == 0)
    }

    @Test func cancellationStopsAStalledStreamPromptly() async throws {
        try await withFakeProvider({ _ in .stream(AnthropicFixtures.firstText, ending: .stall) }) { url, _ in
            try await expectPromptCancellation { onDelta in
                try await AnthropicDriver(transport: testTransport()).generate(
                    SampleConversation.request(model: "claude-sonnet-4-5"),
                    endpoint: LLMEndpoint(providerType: .anthropic, apiKey: Self.key, baseURL: url), onDelta: onDelta)
            }
        }
    }
}
