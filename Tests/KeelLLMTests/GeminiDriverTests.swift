import KeelTestSupport
import Foundation
import Hummingbird
import KeelCore
import KeelLLM
import Testing

@Suite struct GeminiDriverTests {
    static let key = "AIzaSyTest-0123456789"

    private func generate(
        _ baseURL: String, request: LLMRequest = SampleConversation.request(model: "gemini-2.5-flash"),
        key: String? = key, recorder: DeltaRecorder = DeltaRecorder()
    ) async throws -> LLMResponse {
        try await GeminiDriver(transport: testTransport()).generate(
            request, endpoint: LLMEndpoint(providerType: .gemini, apiKey: key, baseURL: baseURL + "/v1beta")
        ) { recorder.record($0) }
    }

    @Test func streamsThoughtsTextAndFunctionCalls() async throws {
        let recorder = DeltaRecorder()
        let (response, requests) = try await withFakeProvider({ _ in .stream(GeminiFixtures.thoughtTextAndCalls, pieceSize: 41) }) {
            url, log in (try await generate(url, recorder: recorder), log.requests)
        }
        #expect(recorder.all == [
            .thinking("**Checking the weather**\n\nThe user wants Berlin and Munich."),
            .text("Let me look"), .text(" that up for you."),
        ])
        #expect(response.text == "Let me look that up for you.")
        #expect(response.thinking == "**Checking the weather**\n\nThe user wants Berlin and Munich.")
        #expect(response.thinkingSignature == "CiQBVKhc7wEMYd3Nh2HqR0OzCbR6")
        #expect(response.toolCalls.map(\.name) == ["get_weather", "get_weather"])
        #expect(response.toolCalls.map(\.arguments) == [["location": "Berlin", "unit": "celsius"], ["location": "Munich"]])
        let ids = response.toolCalls.map(\.id)
        #expect(Set(ids).count == 2)
        #expect(ids.allSatisfy { $0.hasPrefix("call_") })
        #expect(response.finishReason == "STOP")
        #expect(response.responseID == "mMKpaP2bI6TGz7IPxNGQiAU")
        #expect(response.model == "gemini-2.5-flash")
        #expect(response.usage == Usage(inputTokens: 96, outputTokens: 91, cacheReadTokens: 64))
        #expect(response.timeToFirstToken != nil)

        let request = try #require(requests.first)
        #expect(request.path == "/v1beta/models/gemini-2.5-flash:streamGenerateContent")
        #expect(request.query == "alt=sse")
        #expect(request.headers["x-goog-api-key"] == Self.key)
        #expect(!(request.query ?? "").contains(Self.key))
        let body = request.body
        #expect(body["systemInstruction"] == ["parts": [["text": "You are terse."]]])
        #expect(body["tools"] == [
            [
                "functionDeclarations": [
                    [
                        "name": "get_weather", "description": "Current weather for a city",
                        // `additionalProperties` is not in Gemini's schema subset and is dropped.
                        "parameters": [
                            "type": "object", "properties": ["location": ["type": "string"]], "required": ["location"],
                        ],
                    ]
                ]
            ]
        ])
        #expect(body["generationConfig"] == nil)
        #expect(body["contents"] == [
            ["role": "user", "parts": [["text": "What's the weather in Paris and Rome?"]]],
            [
                "role": "model",
                "parts": [
                    ["text": "Checking."],
                    ["functionCall": ["name": "get_weather", "args": ["location": "Paris"]]],
                    ["functionCall": ["name": "get_weather", "args": ["location": "Rome"]]],
                ],
            ],
            [
                "role": "user",
                "parts": [
                    ["functionResponse": ["name": "get_weather", "response": ["temp_c": 18]]],
                    ["functionResponse": ["name": "get_weather", "response": ["error": "service unavailable"]]],
                    ["text": "And in Berlin?"],
                ],
            ],
        ])
    }

    @Test func functionResponsesAreNamedAfterTheirCalls() async throws {
        let messages = [
            Message(role: .user, content: [.text("go")]),
            Message(
                role: .agent,
                content: [
                    .toolCall(ToolCall(id: "call_a", name: "search", arguments: ["q": "x"])),
                    .toolCall(ToolCall(id: "call_b", name: "fetch", arguments: [:])),
                ]),
            Message(
                role: .toolResult,
                content: [
                    .toolResult(toolCallID: "call_b", result: "page", error: nil),
                    .toolResult(toolCallID: "call_a", result: [1, 2], error: nil),
                ]),
        ]
        let request = LLMRequest(model: "models/gemini-2.5-pro", systemPrompt: "", messages: messages, reasoningEffort: "low")
        let recorded = try await withFakeProvider({ _ in .stream(GeminiFixtures.thoughtTextAndCalls) }) { url, log in
            _ = try await generate(url, request: request)
            return log.requests.first
        }
        let body = try #require(recorded).body
        #expect(recorded?.path == "/v1beta/models/gemini-2.5-pro:streamGenerateContent")
        #expect(body["contents"]?.arrayValue?.last == [
            "role": "user",
            "parts": [
                ["functionResponse": ["name": "fetch", "response": ["result": "page"]]],
                ["functionResponse": ["name": "search", "response": ["result": [1, 2]]]],
            ],
        ])
        #expect(body["systemInstruction"] == nil)
        #expect(body["generationConfig"] == ["thinkingConfig": ["includeThoughts": true, "thinkingBudget": 1024]])
    }

    @Test func quotaErrorsAreRetried() async throws {
        let (response, count) = try await withFakeProvider({ ordinal in
            ordinal < 2 ? .status(429, body: GeminiFixtures.quotaBody) : .stream(GeminiFixtures.thoughtTextAndCalls)
        }) { url, log in (try await generate(url), log.count) }
        #expect(count == 3)
        #expect(response.text == "Let me look that up for you.")
    }

    @Test func errorAfterOutputFailsWithoutRetry() async throws {
        let recorder = DeltaRecorder()
        let (error, count) = try await withFakeProvider({ _ in .stream(GeminiFixtures.midStreamError) }) { url, log in
            let error = await #expect(throws: LLMError.self) { try await generate(url, recorder: recorder) }
            return (error, log.count)
        }
        #expect(error == .server(status: 503))
        #expect(count == 1)
        #expect(recorder.texts == ["Hello"])
    }

    @Test func badRequestIsNotRetriedAndRedacted() async throws {
        let body = #"{"error": {"code": 400,"message": "API key not valid: \#(Self.key). Please pass a valid API key.","status": "INVALID_ARGUMENT"}}"#
        let (error, count) = try await withFakeProvider({ _ in .status(400, body: body) }) { url, log in
            let error = await #expect(throws: LLMError.self) { try await generate(url) }
            return (error, log.count)
        }
        #expect(count == 1)
        #expect(error == .badRequest(status: 400, detail: "API key not valid: [REDACTED]. Please pass a valid API key."))
    }

    @Test func missingKeyFailsBeforeAnyRequest() async throws {
        let (error, count) = try await withFakeProvider({ _ in .stream(GeminiFixtures.firstText) }) { url, log in
            let error = await #expect(throws: LLMError.self) { try await generate(url, key: "") }
            return (error, log.count)
        }
        #expect(error == .missingAPIKey(provider: .gemini))
        #expect(count == 0)
    }

    @Test func cancellationStopsAStalledStreamPromptly() async throws {
        try await withFakeProvider({ _ in .stream(GeminiFixtures.firstText, ending: .stall) }) { url, _ in
            try await expectPromptCancellation { onDelta in
                try await GeminiDriver(transport: testTransport()).generate(
                    SampleConversation.request(model: "gemini-2.5-flash"),
                    endpoint: LLMEndpoint(providerType: .gemini, apiKey: Self.key, baseURL: url + "/v1beta"), onDelta: onDelta)
            }
        }
    }
}
