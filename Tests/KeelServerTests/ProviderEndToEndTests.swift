import KeelTestSupport
import Foundation
import KeelCore
import Testing

/// Whole turns through the real server and the real OpenAI / Anthropic / Gemini drivers, with the
/// provider replaced by `FakeProviderServer` speaking the provider's streaming wire format.
///
/// Every turn is the same: the model first asks for `add` with {"a":2,"b":3} (the arguments
/// streamed in fragments where the provider does that), the server runs the tool, and the model
/// then answers with `finalText` in several deltas plus its usage report.
@Suite("Provider drivers end to end over HTTP")
struct ProviderEndToEndTests {
    static let apiKey = "sk-e2e-SECRET-key-7f3a9c21d4"
    static let userText = "What is 2 + 3? Use the add tool."
    /// Non-ASCII on purpose: the byte-level split of the stream cuts through multi-byte characters.
    static let textFragments = ["2 + 3", " = 5", " — the sum", " is five ✓"]
    static var finalText: String { textFragments.joined() }
    static let apology = "I encountered an error while processing your request. Please try again later."

    // MARK: - Tests

    @Test("OpenAI: tool call, tool round-trip in the second request, text, summed usage")
    func openAI() async throws {
        let run = try await runTurn(
            provider: .openai, script: [.stream(OpenAIWire.toolCallAdd), .stream(OpenAIWire.finalText)])
        expectToolTurn(
            run, path: "/v1/chat/completions",
            usage: Usage(inputTokens: 82 + 118, outputTokens: 18 + 11, cacheReadTokens: 64 + 64))

        for request in run.requests {
            #expect(request.headers["authorization"] == "Bearer \(Self.apiKey)")
            #expect(request.body["model"] == "gpt-4o-mini")
            #expect(request.body["stream"] == true)
            #expect(request.body["stream_options"]?["include_usage"] == true)
            let tools = request.body["tools"]?.arrayValue ?? []
            #expect(tools.contains { $0["function"]?["name"] == "add" }, "\(tools)")
        }
        guard run.requests.count == 2 else { return }
        let first = run.requests[0].body["messages"]?.arrayValue ?? []
        #expect(first.map { $0["role"]?.stringValue ?? "" } == ["system", "user"])
        #expect(first.last?["content"]?.stringValue == Self.userText)

        let messages = run.requests[1].body["messages"]?.arrayValue ?? []
        #expect(messages.map { $0["role"]?.stringValue ?? "" } == ["system", "user", "assistant", "tool"], "\(messages)")
        let assistant = try #require(messages.first { $0["role"] == "assistant" })
        #expect(assistant["content"] == .null)
        let calls = assistant["tool_calls"]?.arrayValue ?? []
        #expect(calls.count == 1)
        #expect(calls.first?["id"]?.stringValue == OpenAIWire.callID)
        #expect(calls.first?["type"] == "function")
        #expect(calls.first?["function"]?["name"] == "add")
        // The API wants the arguments as JSON text.
        let arguments = try #require(calls.first?["function"]?["arguments"]?.stringValue)
        #expect(JSONValue.parse(arguments) == ["a": 2, "b": 3], "\(arguments)")
        let tool = try #require(messages.first { $0["role"] == "tool" })
        #expect(tool["tool_call_id"]?.stringValue == OpenAIWire.callID)
        #expect(JSONValue.parse(tool["content"]?.stringValue ?? "")?["result"]?.doubleValue == 5, "\(tool)")
    }

    @Test("Anthropic: tool_use, tool_result in the second request, text, summed usage with cache")
    func anthropic() async throws {
        let run = try await runTurn(
            provider: .anthropic, script: [.stream(AnthropicWire.toolUseAdd), .stream(AnthropicWire.finalText)])
        expectToolTurn(
            run, path: "/v1/messages",
            usage: Usage(
                inputTokens: 472 + 530, outputTokens: 89 + 15, cacheReadTokens: 2048 + 2048,
                cacheCreationTokens: 100 + 0))

        for request in run.requests {
            #expect(request.headers["x-api-key"] == Self.apiKey)
            #expect(request.headers["anthropic-version"] == "2023-06-01")
            #expect(request.headers["authorization"] == nil)
            #expect(request.body["model"] == "claude-sonnet-4-5")
            #expect(request.body["stream"] == true)
            #expect((request.body["max_tokens"]?.intValue ?? 0) > 0)
            #expect(request.body["system"]?.stringValue?.isEmpty == false)
            let tools = request.body["tools"]?.arrayValue ?? []
            #expect(tools.contains { $0["name"] == "add" && $0["input_schema"] != nil }, "\(tools)")
        }
        guard run.requests.count == 2 else { return }
        let messages = run.requests[1].body["messages"]?.arrayValue ?? []
        #expect(messages.map { $0["role"]?.stringValue ?? "" } == ["user", "assistant", "user"], "\(messages)")
        guard messages.count == 3 else { return }
        let assistantBlocks = messages[1]["content"]?.arrayValue ?? []
        #expect(assistantBlocks.map { $0["type"]?.stringValue ?? "" } == ["text", "tool_use"], "\(assistantBlocks)")
        let toolUse = try #require(assistantBlocks.first { $0["type"] == "tool_use" })
        #expect(toolUse["id"]?.stringValue == AnthropicWire.toolUseID)
        #expect(toolUse["name"] == "add")
        #expect(toolUse["input"] == ["a": 2, "b": 3])
        let resultBlocks = messages[2]["content"]?.arrayValue ?? []
        let toolResult = try #require(resultBlocks.first { $0["type"] == "tool_result" }, "\(resultBlocks)")
        #expect(toolResult["tool_use_id"]?.stringValue == AnthropicWire.toolUseID)
        #expect(toolResult["is_error"] == false)
        #expect(JSONValue.parse(toolResult["content"]?.stringValue ?? "")?["result"]?.doubleValue == 5, "\(toolResult)")
    }

    @Test("Gemini: functionCall, functionResponse in the second request, text, summed usage")
    func gemini() async throws {
        let run = try await runTurn(
            provider: .gemini, script: [.stream(GeminiWire.functionCallAdd), .stream(GeminiWire.finalText)])
        // Thought tokens are billed as output, so they count there.
        expectToolTurn(
            run, path: "/v1beta/models/gemini-2.5-flash:streamGenerateContent",
            usage: Usage(inputTokens: 96 + 140, outputTokens: (31 + 60) + 12, cacheReadTokens: 0 + 64))

        for request in run.requests {
            #expect(request.headers["x-goog-api-key"] == Self.apiKey)
            #expect(request.headers["authorization"] == nil)
            // The key travels in the header only, never in the URL.
            #expect(request.query == "alt=sse")
            #expect(request.body["systemInstruction"]?["parts"]?.arrayValue?.isEmpty == false)
            let declarations = request.body["tools"]?.arrayValue?.first?["functionDeclarations"]?.arrayValue ?? []
            #expect(declarations.contains { $0["name"] == "add" }, "\(declarations)")
        }
        guard run.requests.count == 2 else { return }
        let contents = run.requests[1].body["contents"]?.arrayValue ?? []
        #expect(contents.map { $0["role"]?.stringValue ?? "" } == ["user", "model", "user"], "\(contents)")
        guard contents.count == 3 else { return }
        let modelParts = contents[1]["parts"]?.arrayValue ?? []
        let call = try #require(modelParts.first { $0["functionCall"] != nil }?["functionCall"], "\(modelParts)")
        #expect(call["name"] == "add")
        #expect(call["args"] == ["a": 2, "b": 3])
        #expect(modelParts.first?["text"]?.stringValue == GeminiWire.preamble.joined())
        let responseParts = contents[2]["parts"]?.arrayValue ?? []
        let response = try #require(
            responseParts.first { $0["functionResponse"] != nil }?["functionResponse"], "\(responseParts)")
        #expect(response["name"] == "add")
        #expect(response["response"]?["result"]?.doubleValue == 5, "\(response)")

        // Gemini requires the functionCall part's thoughtSignature back verbatim in the history
        // (a hard 400 on Gemini 3 models, degraded reasoning on 2.5).
        let echoed = modelParts.first { $0["functionCall"] != nil }?["thoughtSignature"]?.stringValue
        #expect(echoed == GeminiWire.thoughtSignature)
    }

    @Test(
        "a provider answering 401 fails the turn as provider_misconfigured, without retrying or leaking its body",
        arguments: [ProviderCase.openai, .anthropic, .gemini])
    func unauthorized(provider: ProviderCase) async throws {
        let errorText = "Incorrect API key provided: sk-e2e-****d4. Fake-provider-diagnostic-7731"
        let body = #"{"error":{"message":"\#(errorText)","type":"authentication_error","code":"invalid_api_key"}}"#
        let run = try await runTurn(provider: provider, script: [.status(401, json: body)])

        #expect(run.requests.count == 1, "401 must not be retried")
        let types = run.events.types
        #expect(types.filter { EventType.terminal.contains(EventType($0)) } == ["turn.failed"], "\(types)")
        #expect(types.last == "session.idled")
        #expect(!types.contains("tool.started"))
        let failed = try #require(run.events.first { $0["type"] == "turn.failed" })
        #expect(failed["data"]?["error_code"] == "provider_misconfigured")
        let replies = run.events.filter { $0["type"] == "output.message.completed" }
        #expect(replies.count == 1)
        #expect(Self.text(ofMessage: replies.last?["data"]?["message"]) == Self.apology)
        let agentMessages = run.messages.filter { $0["role"] == "agent" }
        #expect(agentMessages.count == 1)
        #expect(Self.text(ofMessage: agentMessages.last) == Self.apology)

        let everything = run.events.map(\.jsonString).joined()
        #expect(!everything.contains("Fake-provider-diagnostic-7731"))
        #expect(!everything.contains("Incorrect API key"))
        #expect(!everything.contains(Self.apiKey))
    }

    // MARK: - Harness

    enum ProviderCase: String, Sendable, CustomTestStringConvertible {
        case openai, anthropic, gemini

        var testDescription: String { rawValue }

        var modelID: String {
            switch self {
            case .openai: "openai/gpt-4o-mini"
            case .anthropic: "anthropic/claude-sonnet-4-5"
            case .gemini: "gemini/gemini-2.5-flash"
            }
        }

        /// The base URL variable, and the path the real API's base URL carries, so the fake sees
        /// the real request paths.
        var baseURLVariable: (name: String, path: String) {
            switch self {
            case .openai: ("OPENAI_BASE_URL", "/v1")
            case .anthropic: ("ANTHROPIC_BASE_URL", "")
            case .gemini: ("GEMINI_BASE_URL", "/v1beta")
            }
        }

        var keyVariable: String {
            switch self {
            case .openai: "DEFAULT_OPENAI_API_KEY"
            case .anthropic: "DEFAULT_ANTHROPIC_API_KEY"
            case .gemini: "DEFAULT_GEMINI_API_KEY"
            }
        }
    }

    struct TurnRun: Sendable {
        var events: [JSONValue]
        var messages: [JSONValue]
        var session: JSONValue
        var requests: [RecordedRequest]
    }

    /// Starts the fake with `script`, starts Keel pointed at it, and runs one turn of an agent
    /// with `test_math` on the provider's model.
    func runTurn(provider: ProviderCase, script: [FakeReply]) async throws -> TurnRun {
        try await FakeProviderServer.run(script: script) { fake, baseURL in
            let environment = [
                provider.baseURLVariable.name: baseURL + provider.baseURLVariable.path,
                provider.keyVariable: Self.apiKey,
            ]
            return try await TestServer.run(environment: environment) { server in
                let agent = try await server.request(
                    .post, "/v1/agents",
                    json: ["name": "calc", "system_prompt": "You add numbers with the add tool.",
                           "capabilities": [["ref": "test_math"]]])
                #expect(agent.status == 201, "\(agent.text)")
                let agentID = agent.json["id"]?.stringValue ?? ""
                let sessionID = try await server.createSession(
                    ["agent_id": .string(agentID), "model_id": .string(provider.modelID)])
                let sent = try await server.send(sessionID, Self.userText)
                #expect(sent.status == 201, "\(sent.text)")
                let events = try await server.waitForIdle(sessionID)
                let messages = try await server.request(.get, "/v1/sessions/\(sessionID)/messages")
                let session = try await server.request(.get, "/v1/sessions/\(sessionID)")
                for reply in [messages, session] {
                    #expect(!reply.text.contains(Self.apiKey))
                }
                return TurnRun(
                    events: events, messages: messages.json["data"]?.arrayValue ?? [], session: session.json,
                    requests: fake.requests)
            }
        }
    }

    /// What every successful provider turn must show.
    func expectToolTurn(_ run: TurnRun, path: String, usage: Usage, sourceLocation: SourceLocation = #_sourceLocation) {
        let types = run.events.types
        let expectedOrder = [
            "input.message", "turn.started", "llm.generation", "act.started", "tool.started", "tool.completed",
            "act.completed", "llm.generation", "output.message.completed", "turn.completed", "session.idled",
        ]
        #expect(isSubsequence(expectedOrder, of: types), "\(types)", sourceLocation: sourceLocation)
        #expect(types.filter { EventType.terminal.contains(EventType($0)) } == ["turn.completed"], sourceLocation: sourceLocation)
        #expect(types.filter { $0 == "tool.started" }.count == 1, sourceLocation: sourceLocation)

        let toolCall = run.events.first { $0["type"] == "tool.started" }?["data"]?["tool_call"]
        #expect(toolCall?["name"] == "add", sourceLocation: sourceLocation)
        #expect(toolCall?["arguments"] == ["a": 2, "b": 3], "\(String(describing: toolCall))", sourceLocation: sourceLocation)
        let toolDone = run.events.first { $0["type"] == "tool.completed" }?["data"]
        #expect(toolDone?["success"] == true, "\(String(describing: toolDone))", sourceLocation: sourceLocation)
        #expect(toolDone?["tool_name"] == "add", sourceLocation: sourceLocation)
        #expect(toolDone?["tool_call_id"] == toolCall?["id"], sourceLocation: sourceLocation)
        #expect(toolDone?["result"]?["result"]?.doubleValue == 5, sourceLocation: sourceLocation)

        // The final answer, as the last message event, as streamed deltas, and as the message list.
        let final = run.events.last { $0["type"] == "output.message.completed" }?["data"]?["message"]
        #expect(Self.text(ofMessage: final) == Self.finalText, sourceLocation: sourceLocation)
        let finalID = final?["id"]?.stringValue
        let deltas = run.events.filter { $0["type"] == "output.message.delta" && $0["data"]?["message_id"]?.stringValue == finalID }
        #expect(deltas.compactMap { $0["data"]?["delta"]?.stringValue }.joined() == Self.finalText, sourceLocation: sourceLocation)
        #expect(
            run.messages.map { $0["role"]?.stringValue ?? "" } == ["user", "agent", "tool_result", "agent"],
            "\(run.messages)", sourceLocation: sourceLocation)
        #expect(Self.text(ofMessage: run.messages.last) == Self.finalText, sourceLocation: sourceLocation)

        let completed = run.events.first { $0["type"] == "turn.completed" }?["data"]
        #expect(completed?["llm_call_count"] == 2, sourceLocation: sourceLocation)
        #expect(completed?["tool_call_count"] == 1, sourceLocation: sourceLocation)
        #expect(completed?["final_message_id"]?.stringValue == finalID, sourceLocation: sourceLocation)
        #expect(Self.usage(completed?["usage"]) == usage, sourceLocation: sourceLocation)
        #expect(Self.usage(run.session["usage"]) == usage, "session usage", sourceLocation: sourceLocation)

        #expect(run.requests.count == 2, sourceLocation: sourceLocation)
        for request in run.requests {
            #expect(request.method == "POST", sourceLocation: sourceLocation)
            #expect(request.path == path, sourceLocation: sourceLocation)
            #expect(request.headers["content-type"]?.hasPrefix("application/json") == true, sourceLocation: sourceLocation)
        }
        let everything = run.events.map(\.jsonString).joined()
        #expect(!everything.contains(Self.apiKey), "the API key leaked into an event", sourceLocation: sourceLocation)
    }

    static func text(ofMessage message: JSONValue?) -> String? {
        message?["content"]?.arrayValue?.compactMap { $0["type"] == "text" ? $0["text"]?.stringValue : nil }.joined()
    }

    static func usage(_ json: JSONValue?) -> Usage? {
        try? json?.decode(Usage.self)
    }
}

// MARK: - Wire fixtures

/// Chat Completions stream bodies: `chat.completion.chunk` objects on `data:` lines, the usage
/// chunk last (empty `choices`, `stream_options.include_usage`), then `data: [DONE]`.
enum OpenAIWire {
    static let callID = "call_Qh3MdF0Lrk7Pz2YhXgTn8WbA"

    private static let head =
        #""id":"chatcmpl-B9MHDbslfkBeAs8l4bebGdFOJ6PeG","object":"chat.completion.chunk","created":1741570283,"model":"gpt-4o-mini-2024-07-18","service_tier":"default","system_fingerprint":"fp_f9f4fb6dbf""#

    private static func chunk(_ choice: String, finish: String = "null") -> String {
        #"data: {\#(head),"choices":[{"index":0,\#(choice),"logprobs":null,"finish_reason":\#(finish)}],"usage":null}"# + "\n\n"
    }

    private static func arguments(_ fragment: String) -> String {
        chunk(#""delta":{"tool_calls":[{"index":0,"function":{"arguments":"\#(fragment)"}}]}"#)
    }

    private static func usage(prompt: Int, completion: Int, cached: Int) -> String {
        #"data: {\#(head),"choices":[],"usage":{"prompt_tokens":\#(prompt),"completion_tokens":\#(completion),"total_tokens":\#(prompt + completion),"prompt_tokens_details":{"cached_tokens":\#(cached),"audio_tokens":0},"completion_tokens_details":{"reasoning_tokens":0,"audio_tokens":0,"accepted_prediction_tokens":0,"rejected_prediction_tokens":0}}}"#
            + "\n\n"
    }

    static let toolCallAdd = [
        chunk(
            #""delta":{"role":"assistant","content":null,"tool_calls":[{"index":0,"id":"\#(callID)","type":"function","function":{"name":"add","arguments":""}}],"refusal":null}"#
        ),
        arguments(#"{\""#),
        arguments("a"),
        arguments(#"\":"#),
        arguments("2"),
        arguments(#",\""#),
        arguments("b"),
        arguments(#"\":"#),
        arguments("3"),
        arguments("}"),
        chunk(#""delta":{}"#, finish: #""tool_calls""#),
        usage(prompt: 82, completion: 18, cached: 64),
        "data: [DONE]\n\n",
    ]

    static let finalText =
        [chunk(#""delta":{"role":"assistant","content":"","refusal":null}"#)]
        + ProviderEndToEndTests.textFragments.map { chunk(#""delta":{"content":"\#($0)"}"#) }
        + [
            chunk(#""delta":{}"#, finish: #""stop""#),
            usage(prompt: 118, completion: 11, cached: 64),
            "data: [DONE]\n\n",
        ]
}

/// Messages API stream bodies: `event:` + `data:` lines, `ping`s interleaved, tool input as
/// `input_json_delta` fragments, output tokens in `message_delta`.
enum AnthropicWire {
    static let toolUseID = "toolu_01A09q90qw90lq917835lq9"

    private static func event(_ name: String, _ data: String) -> String {
        "event: \(name)\ndata: \(data)\n\n"
    }

    private static func messageStart(id: String, input: Int, cacheCreation: Int, cacheRead: Int) -> String {
        event(
            "message_start",
            #"{"type":"message_start","message":{"id":"\#(id)","type":"message","role":"assistant","model":"claude-sonnet-4-5-20250929","stop_sequence":null,"usage":{"input_tokens":\#(input),"output_tokens":1,"cache_creation_input_tokens":\#(cacheCreation),"cache_read_input_tokens":\#(cacheRead)},"content":[],"stop_reason":null}}"#)
    }

    private static func text(_ index: Int, _ fragment: String) -> String {
        event(
            "content_block_delta",
            #"{"type":"content_block_delta","index":\#(index),"delta":{"type":"text_delta","text":"\#(fragment)"}}"#)
    }

    private static func inputJSON(_ fragment: String) -> String {
        event(
            "content_block_delta",
            #"{"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":"\#(fragment)"}}"#)
    }

    private static func end(stopReason: String, output: Int) -> [String] {
        [
            event(
                "message_delta",
                #"{"type":"message_delta","delta":{"stop_reason":"\#(stopReason)","stop_sequence":null},"usage":{"output_tokens":\#(output)}}"#),
            event("message_stop", #"{"type":"message_stop"}"#),
        ]
    }

    static let toolUseAdd =
        [
            messageStart(id: "msg_014p7gG3wDgGV9EUtLvnow3U", input: 472, cacheCreation: 100, cacheRead: 2048),
            event("content_block_start", #"{"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}"#),
            event("ping", #"{"type": "ping"}"#),
            text(0, "I'll add"),
            text(0, " those numbers."),
            event("content_block_stop", #"{"type":"content_block_stop","index":0}"#),
            event(
                "content_block_start",
                #"{"type":"content_block_start","index":1,"content_block":{"type":"tool_use","id":"\#(toolUseID)","name":"add","input":{}}}"#),
            inputJSON(""),
            inputJSON(#"{\"a\": "#),
            inputJSON(#"2, \"b\""#),
            inputJSON(#": 3}"#),
            event("content_block_stop", #"{"type":"content_block_stop","index":1}"#),
        ] + end(stopReason: "tool_use", output: 89)

    static let finalText =
        [
            messageStart(id: "msg_01XFDUDYJgAACzvnptvVoYEL", input: 530, cacheCreation: 0, cacheRead: 2048),
            event("content_block_start", #"{"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}"#),
            event("ping", #"{"type": "ping"}"#),
        ]
        + ProviderEndToEndTests.textFragments.map { text(0, $0) }
        + [event("content_block_stop", #"{"type":"content_block_stop","index":0}"#)]
        + end(stopReason: "end_turn", output: 15)
}

/// `streamGenerateContent?alt=sse` bodies: one `GenerateContentResponse` per `data:` line, CRLF
/// line endings, no end marker; the function call arrives whole, `usageMetadata` is cumulative
/// and complete only in the last chunk (the one with `finishReason`).
enum GeminiWire {
    static let preamble = ["Let me add", " those numbers."]
    static let thoughtSignature = "CiQBVKhc7wEMYd3Nh2HqR0OzCbR6"

    private static let tail = #""modelVersion": "gemini-2.5-flash","responseId": "mMKpaP2bI6TGz7IPxNGQiAU"}"#

    private static func event(_ json: String) -> String {
        "data: " + json + "\r\n\r\n"
    }

    private static func promptUsage(_ prompt: Int) -> String {
        #""usageMetadata": {"promptTokenCount": \#(prompt),"totalTokenCount": \#(prompt),"promptTokensDetails": [{"modality": "TEXT","tokenCount": \#(prompt)}]},"#
    }

    private static func text(_ fragment: String, prompt: Int) -> String {
        event(
            #"{"candidates": [{"content": {"parts": [{"text": "\#(fragment)"}],"role": "model"},"index": 0}],\#(promptUsage(prompt))\#(tail)"#)
    }

    static let functionCallAdd =
        preamble.map { text($0, prompt: 96) }
        + [
            event(
                #"{"candidates": [{"content": {"parts": [{"functionCall": {"name": "add","args": {"a": 2,"b": 3}},"thoughtSignature": "\#(thoughtSignature)"}],"role": "model"},"finishReason": "STOP","index": 0}],"usageMetadata": {"promptTokenCount": 96,"candidatesTokenCount": 31,"totalTokenCount": 187,"promptTokensDetails": [{"modality": "TEXT","tokenCount": 96}],"thoughtsTokenCount": 60},\#(tail)"#
            )
        ]

    static let finalText =
        ProviderEndToEndTests.textFragments.dropLast().map { text($0, prompt: 140) }
        + [
            event(
                #"{"candidates": [{"content": {"parts": [{"text": "\#(ProviderEndToEndTests.textFragments.last ?? "")"}],"role": "model"},"finishReason": "STOP","index": 0}],"usageMetadata": {"promptTokenCount": 140,"candidatesTokenCount": 12,"totalTokenCount": 152,"cachedContentTokenCount": 64,"promptTokensDetails": [{"modality": "TEXT","tokenCount": 140}],"cacheTokensDetails": [{"modality": "TEXT","tokenCount": 64}]},\#(tail)"#
            )
        ]
}
