import KeelTestSupport
import Foundation
import Hummingbird
import KeelCore
import KeelLLM
import Testing

@Suite struct OpenAIDriverTests {
    static let key = "sk-test-0123456789abcdef"

    private func generate(
        _ baseURL: String, request: LLMRequest = SampleConversation.request(model: "gpt-4o"), key: String? = key,
        transport: StreamingHTTPTransport = testTransport(), recorder: DeltaRecorder = DeltaRecorder()
    ) async throws -> LLMResponse {
        try await OpenAIDriver(transport: transport).generate(
            request, endpoint: LLMEndpoint(providerType: .openai, apiKey: key, baseURL: baseURL + "/v1")
        ) { recorder.record($0) }
    }

    @Test func streamsTextAndAssemblesSplitToolCall() async throws {
        let recorder = DeltaRecorder()
        let (response, requests) = try await withFakeProvider({ _ in .stream(OpenAIFixtures.textAndToolCall) }) { url, log in
            (try await generate(url, recorder: recorder), log.requests)
        }
        #expect(recorder.all == [.text("Let me"), .text(" check the wéather.")])
        #expect(response.text == "Let me check the wéather.")
        #expect(response.toolCalls == [ToolCall(id: "call_DdmO9pD3xa9XTPNJ32zg2hcA", name: "get_weather", arguments: ["location": "Berlin"])])
        #expect(response.finishReason == "tool_calls")
        #expect(response.responseID == "chatcmpl-B9MHDbslfkBeAs8l4bebGdFOJ6PeG")
        #expect(response.model == "gpt-4o-2024-08-06")
        #expect(response.usage == Usage(inputTokens: 82, outputTokens: 18, cacheReadTokens: 64))
        #expect((response.timeToFirstToken ?? -1) >= 0)

        let request = try #require(requests.first)
        #expect(requests.count == 1)
        #expect(request.method == "POST")
        #expect(request.path == "/v1/chat/completions")
        #expect(request.headers["authorization"] == "Bearer \(Self.key)")
        #expect(request.headers["content-type"] == "application/json")
        let body = request.body
        #expect(body["model"] == "gpt-4o")
        #expect(body["stream"] == true)
        #expect(body["stream_options"] == ["include_usage": true])
        #expect(body["parallel_tool_calls"] == false)
        #expect(body["tools"] == [
            [
                "type": "function",
                "function": [
                    "name": "get_weather", "description": "Current weather for a city",
                    "parameters": SampleConversation.weatherTool.parameters,
                ],
            ]
        ])
        let messages = try #require(body["messages"]?.arrayValue)
        #expect(messages.count == 6)
        #expect(messages[0] == ["role": "system", "content": "You are terse."])
        #expect(messages[1] == ["role": "user", "content": "What's the weather in Paris and Rome?"])
        #expect(messages[2]["role"] == "assistant")
        #expect(messages[2]["content"] == "Checking.")
        let calls = try #require(messages[2]["tool_calls"]?.arrayValue)
        #expect(calls.count == 2)
        #expect(calls[0]["id"] == "call_paris")
        #expect(calls[0]["type"] == "function")
        #expect(calls[0]["function"]?["name"] == "get_weather")
        // Arguments travel as JSON text.
        #expect(calls[0]["function"]?["arguments"] == #"{"location":"Paris"}"#)
        #expect(messages[3] == ["role": "tool", "tool_call_id": "call_paris", "content": #"{"temp_c":18}"#])
        #expect(messages[4] == ["role": "tool", "tool_call_id": "call_rome", "content": "service unavailable"])
        #expect(messages[5] == ["role": "user", "content": "And in Berlin?"])
    }

    @Test func omitsToolFieldsWithoutTools() async throws {
        let request = LLMRequest(model: "gpt-4o", systemPrompt: "", messages: [Message(role: .user, content: [.text("hi")])])
        let body = try await withFakeProvider({ _ in .stream(OpenAIFixtures.reasoningThenText) }) { url, log in
            _ = try await generate(url, request: request)
            return log.requests.first?.body ?? .null
        }
        #expect(body["tools"] == nil)
        #expect(body["parallel_tool_calls"] == nil)
        #expect(body["messages"] == [["role": "user", "content": "hi"]])
    }

    @Test func reasoningContentIsThinking() async throws {
        let recorder = DeltaRecorder()
        let response = try await withFakeProvider({ _ in .stream(OpenAIFixtures.reasoningThenText, pieceSize: 11) }) { url, _ in
            try await generate(url, recorder: recorder)
        }
        #expect(recorder.all == [.thinking("Think"), .thinking("ing."), .text("Hi")])
        #expect(response.thinking == "Thinking.")
        #expect(response.text == "Hi")
        #expect(response.finishReason == "stop")
        #expect(response.usage == Usage(inputTokens: 5, outputTokens: 7))
    }

    @Test func retriesRateLimitsBeforeOutput() async throws {
        let (response, count) = try await withFakeProvider({ ordinal in
            ordinal < 2
                ? .status(429, body: #"{"error":{"message":"Rate limit reached","type":"requests"}}"#, headers: ["retry-after": "0"])
                : .stream(OpenAIFixtures.textAndToolCall)
        }) { url, log in
            (try await generate(url), log.count)
        }
        #expect(count == 3)
        #expect(response.text == "Let me check the wéather.")
    }

    @Test func givesUpAfterMaxRetries() async throws {
        let (error, count) = try await withFakeProvider({ _ in .status(503, body: "busy") }) { url, log in
            let error = await #expect(throws: LLMError.self) { try await generate(url, transport: testTransport(maxRetries: 2)) }
            return (error, log.count)
        }
        #expect(error == .server(status: 503))
        #expect(count == 3)
    }

    @Test func doesNotRetryOnceOutputWasDelivered() async throws {
        let recorder = DeltaRecorder()
        let (error, count) = try await withFakeProvider({ _ in .stream(OpenAIFixtures.midStreamError) }) { url, log in
            let error = await #expect(throws: LLMError.self) { try await generate(url, recorder: recorder) }
            return (error, log.count)
        }
        #expect(error == .server(status: 500))
        #expect(count == 1)
        #expect(recorder.all == [.text("Hello")])
    }

    @Test func droppedConnectionAfterOutputIsNotRetried() async throws {
        let recorder = DeltaRecorder()
        let (error, count) = try await withFakeProvider({ _ in .stream(OpenAIFixtures.firstTextChunk, ending: .abort) }) { url, log in
            let error = await #expect(throws: LLMError.self) { try await generate(url, recorder: recorder) }
            return (error, log.count)
        }
        #expect(error?.isRetryable == true)
        #expect(count == 1)
        #expect(recorder.texts == ["Hello"])
    }

    @Test func errorsFromOnDeltaPropagateUnchanged() async throws {
        struct ConsumerGone: Error {}
        let count = try await withFakeProvider({ _ in .stream(OpenAIFixtures.textAndToolCall) }) { url, log in
            await #expect(throws: ConsumerGone.self) {
                try await OpenAIDriver(transport: testTransport()).generate(
                    SampleConversation.request(model: "gpt-4o"),
                    endpoint: LLMEndpoint(providerType: .openai, apiKey: Self.key, baseURL: url + "/v1")) { _ in throw ConsumerGone() }
            }
            return log.count
        }
        #expect(count == 1)
    }

    @Test func unauthorizedIsNotRetried() async throws {
        let body = #"{"error":{"message":"Incorrect API key provided: \#(Self.key). You can find your API key at https://platform.openai.com/account/api-keys.","type":"invalid_request_error","param":null,"code":"invalid_api_key"}}"#
        let (error, count) = try await withFakeProvider({ _ in .status(401, body: body) }) { url, log in
            let error = await #expect(throws: LLMError.self) { try await generate(url) }
            return (error, log.count)
        }
        #expect(error == .unauthorized(status: 401))
        #expect(count == 1)
    }

    @Test func badRequestCarriesTheRedactedProviderMessage() async throws {
        let body = #"{"error":{"message":"Invalid value for 'model': key \#(Self.key) cannot use it. \#(String(repeating: "x", count: 900))","type":"invalid_request_error"}}"#
        let (error, count) = try await withFakeProvider({ _ in .status(400, body: body) }) { url, log in
            let error = await #expect(throws: LLMError.self) { try await generate(url) }
            return (error, log.count)
        }
        #expect(count == 1)
        guard case .badRequest(400, let detail) = error else {
            Issue.record("expected badRequest, got \(String(describing: error))")
            return
        }
        #expect(detail.hasPrefix("Invalid value for 'model'"))
        #expect(!detail.contains(Self.key))
        #expect(detail.count <= 500)
        #expect(error?.detail.contains(Self.key) == false)
    }

    @Test(arguments: [nil, "", "  "])
    func missingKeyFailsBeforeAnyRequest(key: String?) async throws {
        let (error, count) = try await withFakeProvider({ _ in .stream(OpenAIFixtures.textAndToolCall) }) { url, log in
            let error = await #expect(throws: LLMError.self) { try await generate(url, key: key) }
            return (error, log.count)
        }
        #expect(error == .missingAPIKey(provider: .openai))
        #expect(count == 0)
    }

    @Test func idleStreamTimesOut() async throws {
        let (error, count) = try await withFakeProvider({ _ in .stream(OpenAIFixtures.firstTextChunk, ending: .stall) }) { url, log in
            let error = await #expect(throws: LLMError.self) {
                try await generate(url, transport: testTransport(idleTimeout: .seconds(1)))
            }
            return (error, log.count)
        }
        #expect(error == .timeout)
        #expect(count == 1)
    }

    @Test func cancellationStopsAStalledStreamPromptly() async throws {
        try await withFakeProvider({ _ in .stream(OpenAIFixtures.firstTextChunk, ending: .stall) }) { url, _ in
            try await expectPromptCancellation { onDelta in
                try await OpenAIDriver(transport: testTransport()).generate(
                    SampleConversation.request(model: "gpt-4o"),
                    endpoint: LLMEndpoint(providerType: .openai, apiKey: Self.key, baseURL: url + "/v1"), onDelta: onDelta)
            }
        }
    }

    @Test func networkErrorsNeverContainTheKey() async throws {
        // Nothing listens on port 9 of localhost: the connection fails until the head deadline.
        let transport = StreamingHTTPTransport(
            configuration: .init(headTimeout: .milliseconds(300), retry: RetryPolicy(maxRetries: 1, baseDelay: .milliseconds(5))))
        let error = await #expect(throws: LLMError.self) {
            try await OpenAIDriver(transport: transport).generate(
                SampleConversation.request(model: "gpt-4o"),
                endpoint: LLMEndpoint(providerType: .openai, apiKey: Self.key, baseURL: "http://127.0.0.1:9/v1")) { _ in }
        }
        #expect(error?.isRetryable == true)
        #expect(error?.detail.contains(Self.key) == false)
    }
}

/// Runs `generate` in a child task, cancels it after the first delta and checks that it ends
/// with `CancellationError` promptly.
func expectPromptCancellation(
    _ generate: @escaping @Sendable (@Sendable (LLMDelta) async throws -> Void) async throws -> LLMResponse
) async throws {
    let (firstDelta, signal) = AsyncStream<Void>.makeStream()
    let (outcome, elapsed) = await withTaskGroup(of: (any Error)?.self) { group in
        group.addTask {
            do {
                _ = try await generate { _ in signal.yield() }
                return nil
            } catch {
                return error
            }
        }
        var iterator = firstDelta.makeAsyncIterator()
        await iterator.next()
        let cancelledAt = ContinuousClock.now
        group.cancelAll()
        let outcome = await group.next() ?? nil
        return (outcome, ContinuousClock.now - cancelledAt)
    }
    #expect(elapsed < .seconds(10))  // the fake stalls for 30 s; loose for a loaded machine
    #expect(outcome is CancellationError, "ended with \(String(describing: outcome))")
}
