import Foundation
import KeelCore
import KeelTestSupport
import Logging
import Testing

@testable import KeelObservability

private let apiKey = "sk-bt-test-7f3a9c2e5b1d"

/// A turn: invoke_agent (with a remote parent from `traceparent`) → reason → thinking + chat;
/// act → two tool calls, the second failed. Message text, tool arguments and results contain
/// "SECRET" so tests can check they never leave without `BRAINTRUST_RECORD_CONTENT`.
private enum SyntheticTurn {
    static let traceID = [UInt8](repeating: 0x11, count: 16)
    static let turnID = "turn_0123456789abcdef0123456789abcdef"
    static let remoteParent: [UInt8] = [0xAA, 0xAA, 0xAA, 0xAA, 0xAA, 0xAA, 0xAA, 0xAA]
    static let root: [UInt8] = [0, 0, 0, 0, 0, 0, 0, 1]
    static let reason: [UInt8] = [0, 0, 0, 0, 0, 0, 0, 2]
    static let thinking: [UInt8] = [0, 0, 0, 0, 0, 0, 0, 3]
    static let chat: [UInt8] = [0, 0, 0, 0, 0, 0, 0, 4]
    static let act: [UInt8] = [0, 0, 0, 0, 0, 0, 0, 5]
    static let search: [UInt8] = [0, 0, 0, 0, 0, 0, 0, 6]
    static let fetch: [UInt8] = [0, 0, 0, 0, 0, 0, 0, 7]
    static let t0 = Date(timeIntervalSince1970: 1_790_000_000.25)

    static func common(_ operation: String) -> [(key: String, value: AttributeValue)] {
        [
            ("gen_ai.operation.name", .string(operation)),
            ("gen_ai.conversation.id", .string("sess_42")),
            ("turn.id", .string(turnID)),
            ("gen_ai.agent.id", .string("agent_7")),
            ("langfuse.trace.metadata.turn_id", .string(turnID)),
            ("langfuse.trace.metadata.customer", .string("acme")),
        ]
    }

    static func span(
        _ id: [UInt8], parent: [UInt8]?, name: String, operation: String, from: Double, to: Double,
        _ extra: [(key: String, value: AttributeValue)] = [], status: SpanRecord.Status = .ok
    ) -> SpanRecord {
        SpanRecord(
            traceID: traceID, spanID: id, parentSpanID: parent, name: name, start: t0.addingTimeInterval(from),
            end: t0.addingTimeInterval(to), attributes: common(operation) + extra, status: status)
    }

    static let inputMessages = JSONValue.array([
        ["role": "user", "parts": [["type": "text", "content": "SECRET-PROMPT find cats"]]]
    ]).jsonString
    static let outputMessages = JSONValue.array([
        [
            "role": "assistant", "finish_reason": "tool_call",
            "parts": [
                ["type": "text", "content": "SECRET-ANSWER searching"],
                ["type": "tool_call", "id": "call_1", "name": "search", "arguments": ["query": "SECRET-ARG"]],
            ],
        ]
    ]).jsonString

    static var spans: [SpanRecord] {
        [
            span(
                thinking, parent: reason, name: "thinking", operation: "thinking", from: 0.1, to: 0.3,
                [("gen_ai.output.messages", .string(#"[{"role":"assistant","parts":[{"type":"reasoning","content":"SECRET-THOUGHT"}]}]"#))]),
            span(
                chat, parent: reason, name: "chat gpt-4o", operation: "chat", from: 0.1, to: 1.0,
                [
                    ("gen_ai.request.model", .string("gpt-4o")), ("gen_ai.system", .string("openai")),
                    ("gen_ai.usage.input_tokens", .int(100)), ("gen_ai.usage.output_tokens", .int(20)),
                    ("gen_ai.usage.cache_read_tokens", .int(50)), ("gen_ai.usage.cache_creation_tokens", .int(10)),
                    ("time_to_first_token_ms", .int(350)), ("duration_ms", .int(900)),
                    ("gen_ai.input.messages", .string(inputMessages)), ("gen_ai.output.messages", .string(outputMessages)),
                ]),
            span(
                reason, parent: root, name: "reason", operation: "reason", from: 0.05, to: 1.05,
                [("reason.iteration", .int(1)), ("gen_ai.usage.input_tokens", .int(100)), ("gen_ai.usage.output_tokens", .int(20))]),
            span(
                search, parent: act, name: "execute_tool search", operation: "execute_tool", from: 1.1, to: 1.4,
                [
                    ("gen_ai.tool.name", .string("search")), ("gen_ai.tool.call.id", .string("call_1")),
                    ("tool.success", .bool(true)), ("duration_ms", .int(300)),
                    ("gen_ai.tool.call.arguments", .string(#"{"query":"SECRET-ARG"}"#)),
                    ("gen_ai.tool.call.result", .string(#"{"hits":3,"text":"SECRET-RESULT"}"#)),
                ]),
            span(
                fetch, parent: act, name: "execute_tool fetch", operation: "execute_tool", from: 1.1, to: 1.2,
                [
                    ("gen_ai.tool.name", .string("fetch")), ("gen_ai.tool.call.id", .string("call_2")),
                    ("tool.success", .bool(false)), ("error.type", .string("tool_error")),
                ], status: .error("connection refused")),
            span(act, parent: root, name: "act", operation: "act", from: 1.05, to: 1.45),
            span(
                root, parent: remoteParent, name: "invoke_agent keel", operation: "invoke_agent", from: 0, to: 1.5,
                [
                    ("gen_ai.request.model", .string("gpt-4o")), ("gen_ai.system", .string("openai")),
                    ("gen_ai.usage.input_tokens", .int(100)), ("gen_ai.usage.output_tokens", .int(20)),
                    ("input.value", .string("SECRET-PROMPT find cats")),
                ]),
        ]
    }
}

/// A real event log for one turn (tool call, then a text answer), as the runtime writes it,
/// turned into spans by the real `TurnTraceBuilder`. With `unreadableToolResult`, the
/// `tool.completed` lacks its `tool_name` (a malformed stored row), reported to `failures`.
private func builtTurnSpans(
    captureContent: Bool, unreadableToolResult: Bool = false,
    failures: EventDecodeFailureReporter = DecodeFailureLog().reporter
) -> (turnID: String, spans: [SpanRecord], toolCompletedID: String) {
    let sessionID = PublicID.make(.session)
    let turnID = PublicID.make(.turn)
    let inputID = PublicID.make(.message)
    var sequence = 0
    var clock = Date(timeIntervalSince1970: 1_790_000_000)
    var events: [Event] = []
    @discardableResult
    func emit(_ type: EventType, context: EventContext? = nil, _ data: JSONValue) -> Event {
        sequence += 1
        clock = clock.addingTimeInterval(0.05)
        let event = Event(
            type: type, ts: clock, sessionID: sessionID, sequence: sequence,
            context: context ?? EventContext(turnID: turnID, inputMessageID: inputID), data: data)
        events.append(event)
        return event
    }
    @discardableResult
    func emit<Payload: EventPayload>(_ payload: Payload, context: EventContext? = nil) -> Event {
        emit(Payload.eventType, context: context, .encoding(payload))
    }
    let usage = Usage(inputTokens: 100, outputTokens: 20, cacheReadTokens: 40)
    func generate(_ text: String, calls: [ToolCall], iteration: Int) {
        let messageID = PublicID.make(.message)
        emit(OutputMessageStartedPayload(turnID: turnID, messageID: messageID, model: "gpt-4o", iteration: iteration))
        emit(
            LLMGenerationPayload(
                tools: ["search"], output: .init(text: text, toolCalls: calls),
                metadata: .init(
                    model: "gpt-4o", provider: "openai", usage: usage, durationMS: 400, success: true,
                    finishReasons: ["stop"], responseID: .some(nil), timeToFirstTokenMS: 120)))
        let message = Message(id: messageID, role: .agent, content: (text.isEmpty ? [] : [.text(text)]) + calls.map(ContentPart.toolCall))
        emit(OutputMessageCompletedPayload(message: message, model: "gpt-4o", usage: usage))
        emit(
            ReasonCompletedPayload(
                success: true, textPreview: text, hasToolCalls: !calls.isEmpty, toolCallCount: calls.count, error: nil,
                durationMS: 400, usage: usage))
    }
    let call = ToolCall(id: "call_1", name: "search", arguments: ["query": "SECRET-ARG"])
    let input = Message(id: inputID, role: .user, content: [.text("SECRET-PROMPT find cats")])
    emit(InputMessagePayload(message: input), context: EventContext(inputMessageID: inputID))
    emit(SessionActivatedPayload(turnID: turnID, inputMessageID: inputID))
    emit(
        TurnStartedPayload(
            turnID: turnID, inputMessageID: inputID, inputContent: "SECRET-PROMPT find cats", agentID: "agent_1",
            agentName: nil))
    let reasonMetadata = ReasonStartedPayload.Metadata(model: "gpt-4o", modelID: "openai/gpt-4o", providerID: "p", provider: "openai")
    emit(ReasonStartedPayload(agentID: "agent_1", iteration: 1, metadata: reasonMetadata))
    generate("", calls: [call], iteration: 1)
    emit(ActStartedPayload(toolCalls: [.init(id: "call_1", name: "search")]))
    emit(ToolStartedPayload(toolCall: call))
    var toolResult = JSONValue.encoding(
        ToolCompletedPayload(
            toolCallID: "call_1", toolName: "search", success: true, status: "success", durationMS: 30,
            result: ["text": "SECRET-RESULT"], error: nil))
    if unreadableToolResult { toolResult = toolResult.removing("tool_name") }
    let toolCompleted = emit(EventType.toolCompleted, toolResult)
    emit(ActCompletedPayload(completed: true, successCount: 1, errorCount: 0, durationMS: 80))
    emit(ReasonStartedPayload(agentID: "agent_1", iteration: 2, metadata: reasonMetadata))
    generate("SECRET-ANSWER three cats", calls: [], iteration: 2)
    emit(
        TurnCompletedPayload(
            turnID: turnID, iterations: 2, durationMS: 1234, usage: usage, finalMessageID: PublicID.make(.message),
            finalAnswerPreview: "SECRET-ANSWER three cats", toolCallCount: 1, llmCallCount: 2, status: "completed",
            timeToFirstTokenMS: 120))
    emit(SessionIdledPayload(turnID: turnID, iterations: 2, usage: usage))

    var builder = TurnTraceBuilder(options: TraceOptions(captureContent: captureContent, decodeFailures: failures))
    return (turnID, events.flatMap { builder.consume($0) }, toolCompleted.id)
}

private func testConfiguration(
    _ baseURL: String, projectName: String = "Keel Tests", projectID: String? = nil, recordContent: Bool = false
) -> BraintrustSettings {
    BraintrustSettings(
        apiKey: apiKey, apiURL: baseURL + "/", projectName: projectName, projectID: projectID,
        recordContent: recordContent, deploymentGrade: "dev", flushInterval: .milliseconds(20),
        requestTimeout: .seconds(10), retryBaseDelay: .milliseconds(10), retryMaxDelay: .milliseconds(50),
        startupTimeout: .seconds(25))
}

/// Waits until `condition` holds (or fails the test after `timeout`).
private func eventually(
    _ what: String, timeout: Duration = .seconds(10), _ condition: () -> Bool, sourceLocation: SourceLocation = #_sourceLocation
) async {
    let deadline = ContinuousClock.now + timeout
    while !condition() {
        guard ContinuousClock.now < deadline else {
            Issue.record("timed out waiting for \(what)", sourceLocation: sourceLocation)
            return
        }
        try? await Task.sleep(for: .milliseconds(10))
    }
}

/// Runs the listener's pipeline around `body`, then shuts it down gracefully.
private func running(_ listener: BraintrustListener, _ body: () async throws -> Void) async throws {
    try await withThrowingTaskGroup(of: Void.self) { group in
        group.addTask { try await listener.run() }
        try await body()
        listener.beginGracefulShutdown()
        try await group.waitForAll()
    }
}

private func rowsByName(_ rows: [JSONValue]) -> [String: JSONValue] {
    Dictionary(rows.map { ($0["span_attributes"]?["name"]?.stringValue ?? "?", $0) }, uniquingKeysWith: { first, _ in first })
}

@Suite("Braintrust")
struct BraintrustTests {
    // MARK: Configuration

    @Test("configuration: enabled by BRAINTRUST_API_KEY, defaults from the seed and spec")
    func configurationDefaults() throws {
        #expect(try BraintrustSettings(environment: [:]) == nil)
        #expect(try BraintrustSettings(environment: ["BRAINTRUST_API_KEY": "  "]) == nil)
        #expect(try BraintrustSettings(environment: ["BRAINTRUST_API_KEY": apiKey, "BRAINTRUST_ENABLED": "false"]) == nil)
        // Knobs are not validated when Braintrust is off.
        #expect(try BraintrustSettings(environment: ["BRAINTRUST_MAX_BATCH_SIZE": "lots"]) == nil)

        let configuration = try #require(
            try BraintrustSettings(environment: ["BRAINTRUST_API_KEY": apiKey], deploymentGrade: "prod"))
        #expect(configuration.apiKey == apiKey)
        #expect(configuration.apiURL == "https://api.braintrust.dev")
        #expect(configuration.projectName == "My Project")
        #expect(configuration.projectID == nil)
        #expect(configuration.recordContent == false)
        #expect(configuration.deploymentGrade == "prod")
        #expect(configuration.queueCapacity == 1024)
        #expect(configuration.maxBatchSize == 50)
        #expect(configuration.flushInterval == .milliseconds(500))
        #expect(configuration.requestTimeout == .milliseconds(10_000))
        #expect(configuration.maxRetries == 3)
        #expect(configuration.retryBaseDelay == .milliseconds(250))
        #expect(configuration.retryMaxDelay == .milliseconds(5_000))
        #expect(!configuration.description.contains(apiKey))

        let pipeline = BraintrustListener.pipelineConfiguration(configuration)
        #expect(pipeline.maxQueueSize == 1024)
        #expect(pipeline.maxBatchSize == 50)
        #expect(pipeline.flushInterval == .milliseconds(500))
        #expect(pipeline.maxRetries == 3)
    }

    @Test("configuration: every variable is read")
    func configurationOverrides() throws {
        let configuration = try #require(
            try BraintrustSettings(environment: [
                "BRAINTRUST_API_KEY": apiKey, "BRAINTRUST_ENABLED": "true", "BRAINTRUST_API_URL": "http://127.0.0.1:9/bt/",
                "BRAINTRUST_PROJECT_NAME": " Agents ", "BRAINTRUST_PROJECT_ID": "2b2c4f1e-1111-4222-8333-944455556666",
                "BRAINTRUST_RECORD_CONTENT": "TRUE", "BRAINTRUST_QUEUE_CAPACITY": "10", "BRAINTRUST_MAX_BATCH_SIZE": "5",
                "BRAINTRUST_FLUSH_INTERVAL_MS": "100", "BRAINTRUST_REQUEST_TIMEOUT_MS": "2000",
                "BRAINTRUST_MAX_RETRIES": "0", "BRAINTRUST_RETRY_BASE_DELAY_MS": "5", "BRAINTRUST_RETRY_MAX_DELAY_MS": "50",
            ]))
        #expect(configuration.apiURL == "http://127.0.0.1:9/bt")
        #expect(configuration.projectName == "Agents")
        #expect(configuration.projectID == "2b2c4f1e-1111-4222-8333-944455556666")
        #expect(configuration.recordContent)
        #expect(configuration.queueCapacity == 10)
        #expect(configuration.maxBatchSize == 5)
        #expect(configuration.flushInterval == .milliseconds(100))
        #expect(configuration.requestTimeout == .milliseconds(2000))
        #expect(configuration.maxRetries == 0)
        #expect(configuration.retryBaseDelay == .milliseconds(5))
        #expect(configuration.retryMaxDelay == .milliseconds(50))
    }

    @Test(
        "configuration: an unusable value is an error naming the variable",
        arguments: [
            ("BRAINTRUST_QUEUE_CAPACITY", "0"), ("BRAINTRUST_MAX_BATCH_SIZE", "lots"), ("BRAINTRUST_FLUSH_INTERVAL_MS", "-5"),
            ("BRAINTRUST_REQUEST_TIMEOUT_MS", "1.5"), ("BRAINTRUST_MAX_RETRIES", "x"), ("BRAINTRUST_RETRY_BASE_DELAY_MS", "soon"),
            ("BRAINTRUST_RECORD_CONTENT", "maybe"), ("BRAINTRUST_ENABLED", "perhaps"), ("BRAINTRUST_API_URL", "ftp://x"),
            ("BRAINTRUST_PROJECT_ID", "../other"),
        ])
    func configurationErrors(variable: String, value: String) {
        do {
            _ = try BraintrustSettings(environment: ["BRAINTRUST_API_KEY": apiKey, variable: value])
            Issue.record("accepted \(variable)=\(value)")
        } catch {
            #expect(error.variable == variable)
            #expect(error.description.hasPrefix("\(variable): "))
            #expect(error.description.contains(value))
            #expect(!error.description.contains(apiKey))
        }
    }

    @Test("configuration: a malformed key is reported without quoting it")
    func configurationKeyError() {
        #expect(throws: ConfigurationError.self) {
            try BraintrustSettings(environment: ["BRAINTRUST_API_KEY": "sk-bt secret"])
        }
        do {
            _ = try BraintrustSettings(environment: ["BRAINTRUST_API_KEY": "sk-bt secret"])
        } catch {
            #expect(error.variable == "BRAINTRUST_API_KEY")
            #expect(!error.description.contains("secret"))
        }
    }

    // MARK: Row mapping (no network)

    @Test("rows: types, names, ids, parents and metrics per span")
    func rowMapping() throws {
        let mapper = BraintrustRowMapper(recordContent: false, deploymentGrade: "preview")
        let rows = rowsByName(SyntheticTurn.spans.map(mapper.row(for:)))
        let rootHex = HexID.hex(SyntheticTurn.root)
        let reasonHex = HexID.hex(SyntheticTurn.reason)
        let actHex = HexID.hex(SyntheticTurn.act)

        let root = try #require(rows["agent turn"])
        #expect(root["span_attributes"] == ["name": "agent turn", "type": "task"])
        #expect(root["id"]?.stringValue == rootHex)
        #expect(root["span_id"]?.stringValue == rootHex)
        #expect(root["root_span_id"]?.stringValue == HexID.hex(SyntheticTurn.traceID))
        #expect(root["span_parents"] == nil, "the remote traceparent span is not in Braintrust")
        #expect(root["created"]?.stringValue == KeelJSON.timestamp(SyntheticTurn.t0))
        #expect(root["metadata"]?["session_id"] == "sess_42")
        #expect(root["metadata"]?["turn_id"]?.stringValue == SyntheticTurn.turnID)
        #expect(root["metadata"]?["agent_id"] == "agent_7")
        #expect(root["metadata"]?["model"] == "gpt-4o")
        #expect(root["metadata"]?["provider"] == "openai")
        #expect(root["metadata"]?["deployment_grade"] == "preview")
        #expect(root["metadata"]?["trace_id"]?.stringValue == HexID.hex(SyntheticTurn.traceID))
        #expect(root["metadata"]?["usage"]?["input_tokens"] == 100)
        #expect(root["metrics"]?["prompt_tokens"] == nil, "token metrics only on llm rows")
        #expect(root["metrics"]?["start"]?.doubleValue == SyntheticTurn.t0.timeIntervalSince1970)
        #expect(root["metrics"]?["end"]?.doubleValue == SyntheticTurn.t0.timeIntervalSince1970 + 1.5)
        #expect(root["input"] == ["redacted": true, "summary": ["type": "string", "char_count": 23]])

        let reason = try #require(rows["reason"])
        #expect(reason["span_attributes"]?["type"] == "task")
        #expect(reason["span_parents"] == [.string(rootHex)])
        #expect(reason["root_span_id"]?.stringValue == HexID.hex(SyntheticTurn.traceID))
        #expect(reason["metadata"]?["iteration"] == 1)

        let thinking = try #require(rows["thinking"])
        #expect(thinking["span_attributes"]?["type"] == "task")
        #expect(thinking["span_parents"] == [.string(reasonHex)])

        let chat = try #require(rows["chat gpt-4o"])
        #expect(chat["span_attributes"]?["type"] == "llm")
        #expect(chat["span_parents"] == [.string(reasonHex)])
        let metrics = try #require(chat["metrics"])
        #expect(metrics["prompt_tokens"] == 100)
        #expect(metrics["completion_tokens"] == 20)
        #expect(metrics["tokens"] == 120)
        #expect(metrics["cache_read_tokens"] == 50)
        #expect(metrics["cache_creation_tokens"] == 10)
        #expect(metrics["time_to_first_token"]?.doubleValue == 0.35, "seconds, not milliseconds")
        #expect(metrics["duration_ms"] == 900)
        #expect(chat["input"] == ["redacted": true, "summary": ["type": "array", "item_count": 1]])
        #expect(chat["metadata"]?["turn_id"]?.stringValue == SyntheticTurn.turnID)
        #expect(chat["metadata"]?["request_metadata"] == ["customer": "acme"])
        #expect(chat["output"]?["redacted"] == true)

        let act = try #require(rows["act"])
        #expect(act["span_attributes"]?["type"] == "task")
        #expect(act["span_parents"] == [.string(rootHex)])

        let search = try #require(rows["tool search"])
        #expect(search["span_attributes"]?["type"] == "tool")
        #expect(search["span_parents"] == [.string(actHex)])
        #expect(search["input"]?["tool_call_id"] == "call_1")
        #expect(search["input"]?["tool_name"] == "search")
        #expect(search["input"]?["arguments"] == ["redacted": true, "summary": ["type": "object", "keys": ["query"]]])
        #expect(search["output"]?["status"] == "success")
        #expect(search["output"]?["result"]?["redacted"] == true)
        #expect(search["metadata"]?["success"] == true)
        #expect(search["error"] == nil)

        let fetch = try #require(rows["tool fetch"])
        #expect(fetch["output"]?["status"] == "error")
        #expect(fetch["output"]?["error"] == "connection refused")
        #expect(fetch["error"] == "connection refused")
        #expect(fetch["metadata"]?["success"] == false)
        #expect(fetch["metadata"]?["error_type"] == "tool_error")

        let text = JSONValue.array(Array(rows.values)).jsonString
        #expect(!text.contains("SECRET"), "no content without BRAINTRUST_RECORD_CONTENT")
    }

    @Test("rows: with BRAINTRUST_RECORD_CONTENT, messages in OpenAI shape and tool arguments/results")
    func rowMappingWithContent() throws {
        let mapper = BraintrustRowMapper(recordContent: true)
        let rows = rowsByName(SyntheticTurn.spans.map(mapper.row(for:)))
        let chat = try #require(rows["chat gpt-4o"])
        #expect(chat["input"] == [["role": "user", "content": "SECRET-PROMPT find cats"]])
        let answer = try #require(chat["output"]?.arrayValue?.first)
        #expect(answer["role"] == "assistant")
        #expect(answer["content"] == "SECRET-ANSWER searching")
        #expect(
            answer["tool_calls"]
                == [["id": "call_1", "type": "function", "function": ["name": "search", "arguments": #"{"query":"SECRET-ARG"}"#]]])
        #expect(rows["thinking"]?["output"]?.arrayValue?.first?["reasoning"] == "SECRET-THOUGHT")
        #expect(rows["tool search"]?["input"]?["arguments"] == ["query": "SECRET-ARG"])
        #expect(rows["tool search"]?["output"]?["result"] == ["hits": 3, "text": "SECRET-RESULT"])
        #expect(rows["agent turn"]?["input"] == "SECRET-PROMPT find cats")
    }

    @Test("rows: Everruns roles and tool results convert to OpenAI roles")
    func messageConversion() {
        let converted = BraintrustMessages.openAIShape([
            ["role": "agent", "parts": [["type": "tool_call", "id": "c1", "name": "math", "arguments": "{\"a\":1}"]]],
            ["role": "tool", "parts": [["type": "tool_call_response", "id": "c1", "result": ["sum": 2]]]],
        ])
        #expect(
            converted == [
                [
                    "role": "assistant", "content": nil,
                    "tool_calls": [["id": "c1", "type": "function", "function": ["name": "math", "arguments": "{\"a\":1}"]]],
                ],
                ["role": "tool", "tool_call_id": "c1", "content": #"{"sum":2}"#],
            ])
    }

    // MARK: Against the fake Braintrust

    @Test("startup creates the named project when it is missing, and reuses it afterwards")
    func projectCreatedByName() async throws {
        let fake = BraintrustFakeServer(apiKey: apiKey)
        let logs = BraintrustLogRecorder()
        try await fake.run { baseURL in
            let first = try #require(await BraintrustListener.start(configuration: testConfiguration(baseURL), logger: logs.logger()))
            let second = try #require(await BraintrustListener.start(configuration: testConfiguration(baseURL), logger: logs.logger()))
            #expect(fake.projectCalls == ["Keel Tests", "Keel Tests"])
            #expect(fake.projects.count == 1)
            #expect(first.project?.id == fake.projects["Keel Tests"])
            #expect(second.project == first.project)
            #expect(first.project?.name == "Keel Tests")
        }
        let initialized = logs.all.filter { $0.message == "Braintrust listener initialized" }
        #expect(initialized.count == 2)
        #expect(initialized.first?.level == .info)
        #expect(initialized.first?.metadata["project_name"] == "Keel Tests")
        #expect(initialized.first?.metadata["project_id"] == fake.projects["Keel Tests"])
        #expect(!logs.text.contains(apiKey))
    }

    @Test("startup retries a 503 from the project call")
    func projectCallRetried() async throws {
        let fake = BraintrustFakeServer(apiKey: apiKey)
        fake.scriptProjectCalls([503, 429])
        let logs = BraintrustLogRecorder()
        try await fake.run { baseURL in
            let listener = try #require(await BraintrustListener.start(configuration: testConfiguration(baseURL), logger: logs.logger()))
            #expect(listener.project?.id == fake.projects["Keel Tests"])
        }
        #expect(fake.projectCalls.count == 3)
        #expect(logs.all.filter { $0.level == .warning && $0.message.contains("retrying") }.count == 2)
        #expect(logs.all.contains { $0.message == "Braintrust listener initialized" })
        #expect(!logs.text.contains(apiKey))
    }

    @Test("project lookup retries wait retryBaseDelay doubling up to retryMaxDelay, never under 100 ms")
    func lookupRetrySchedule() {
        var configuration = testConfiguration("http://127.0.0.1:1")
        configuration.retryBaseDelay = .milliseconds(250)
        configuration.retryMaxDelay = .seconds(5)
        let delays = (1...7).map { BraintrustListener.lookupRetryDelay(afterAttempt: $0, configuration: configuration) }
        // Compared in whole milliseconds: the schedule is computed in floating-point seconds.
        #expect(delays.map { Int(($0 / .milliseconds(1)).rounded()) } == [250, 500, 1000, 2000, 4000, 5000, 5000])
        configuration.retryBaseDelay = .milliseconds(10)
        configuration.retryMaxDelay = .milliseconds(50)
        #expect((1...4).map { BraintrustListener.lookupRetryDelay(afterAttempt: $0, configuration: configuration) }
            == Array(repeating: .milliseconds(100), count: 4))
    }

    @Test("BRAINTRUST_PROJECT_ID skips the project call; rows go to that project")
    func projectIDSkipsLookup() async throws {
        let projectID = "2b2c4f1e-1111-4222-8333-944455556666"
        let fake = BraintrustFakeServer(apiKey: apiKey, projects: ["Existing": projectID])
        let logs = BraintrustLogRecorder()
        try await fake.run { baseURL in
            let configuration = try #require(
                try BraintrustSettings(environment: [
                    "BRAINTRUST_API_KEY": apiKey, "BRAINTRUST_API_URL": baseURL, "BRAINTRUST_PROJECT_ID": projectID,
                    "BRAINTRUST_FLUSH_INTERVAL_MS": "20",
                ]))
            let listener = try #require(await BraintrustListener.start(configuration: configuration, logger: logs.logger()))
            #expect(listener.project == BraintrustProject(id: projectID, name: nil))
            try await running(listener) {
                listener.submit(SyntheticTurn.spans)
                await eventually("rows") { fake.rows(project: projectID).count == SyntheticTurn.spans.count }
            }
        }
        #expect(fake.projectCalls.isEmpty)
        #expect(logs.all.contains { $0.message.contains("BRAINTRUST_PROJECT_ID") && $0.metadata["project_id"] == projectID })
        #expect(logs.all.contains { $0.message == "Braintrust listener initialized" && $0.metadata["project_id"] == projectID })
    }

    @Test("a turn's spans arrive as one consistent Braintrust trace, without content by default")
    func turnDelivered() async throws {
        let fake = BraintrustFakeServer(apiKey: apiKey)
        let logs = BraintrustLogRecorder()
        try await fake.run { baseURL in
            let listener = try #require(await BraintrustListener.start(configuration: testConfiguration(baseURL), logger: logs.logger()))
            try await running(listener) {
                listener.submit(SyntheticTurn.spans)
                await eventually("rows") { fake.allRows.count == SyntheticTurn.spans.count }
            }
            #expect(listener.stats.exportedSpans == SyntheticTurn.spans.count)
            #expect(listener.stats.droppedSpansTotal == 0)
        }
        #expect(fake.violations == [])
        #expect(fake.parentViolations() == [])
        #expect(fake.unauthorized == 0)
        let rows = rowsByName(fake.allRows)
        #expect(Set(rows.keys) == ["agent turn", "reason", "thinking", "chat gpt-4o", "act", "tool search", "tool fetch"])
        #expect(Set(fake.allRows.compactMap { $0["root_span_id"]?.stringValue }) == [HexID.hex(SyntheticTurn.traceID)])
        #expect(fake.allRows.filter { $0["span_parents"] == nil }.count == 1, "exactly one root")
        #expect(rows["chat gpt-4o"]?["metrics"]?["time_to_first_token"]?.doubleValue == 0.35)
        #expect(rows["chat gpt-4o"]?["metadata"]?["deployment_grade"] == "dev")
        for insert in fake.inserts {
            #expect(!insert.rawBody.contains("SECRET"))
            #expect(!insert.rawBody.contains(apiKey))
        }
        #expect(!logs.text.contains(apiKey))
    }

    @Test(
        "the real TurnTraceBuilder's spans map to the documented Braintrust tree",
        arguments: [false, true])
    func builderSpansDelivered(recordContent: Bool) async throws {
        // The builder captures content whenever Braintrust wants it; Braintrust redacts otherwise.
        let (turnID, spans, _) = builtTurnSpans(captureContent: true)
        try #require(spans.count >= 7, "builder produced \(spans.map(\.name))")
        let fake = BraintrustFakeServer(apiKey: apiKey)
        try await fake.run { baseURL in
            let listener = try #require(
                await BraintrustListener.start(
                    configuration: testConfiguration(baseURL, recordContent: recordContent),
                    logger: BraintrustLogRecorder().logger()))
            try await running(listener) {
                listener.submit(spans)
                await eventually("rows") { fake.allRows.count == spans.count }
            }
        }
        #expect(fake.violations == [])
        #expect(fake.parentViolations() == [])
        let rows = fake.allRows
        #expect(Set(rows.compactMap { $0["root_span_id"]?.stringValue }).count == 1)
        #expect(rows.allSatisfy { $0["metadata"]?["turn_id"]?.stringValue == turnID })
        #expect(rows.allSatisfy { $0["metadata"]?["session_id"] != nil })
        let byID = Dictionary(rows.map { ($0["span_id"]?.stringValue ?? "", $0) }, uniquingKeysWith: { first, _ in first })
        func named(_ name: String) -> [JSONValue] { rows.filter { $0["span_attributes"]?["name"]?.stringValue == name } }
        func parentName(_ row: JSONValue) -> String? {
            row["span_parents"]?.arrayValue?.first?.stringValue.flatMap { byID[$0]?["span_attributes"]?["name"]?.stringValue }
        }

        let root = try #require(named("agent turn").first)
        #expect(root["span_attributes"]?["type"] == "task")
        #expect(root["span_parents"] == nil)
        #expect(root["metadata"]?["session_id"] != nil)
        #expect(root["metadata"]?["turn_id"]?.stringValue == turnID)
        #expect(named("reason").count == 2)
        #expect(named("reason").allSatisfy { parentName($0) == "agent turn" })
        #expect(named("act").count == 1)
        #expect(named("act").allSatisfy { parentName($0) == "agent turn" })
        let chats = named("chat gpt-4o")
        #expect(chats.count == 2)
        #expect(chats.allSatisfy { $0["span_attributes"]?["type"] == "llm" && parentName($0) == "reason" })
        #expect(chats.allSatisfy { $0["metrics"]?["prompt_tokens"] == 100 && $0["metrics"]?["completion_tokens"] == 20 })
        #expect(chats.allSatisfy { $0["metrics"]?["time_to_first_token"]?.doubleValue == 0.12 })
        #expect(chats.allSatisfy { $0["metrics"]?["cache_read_tokens"] == 40 })
        let tool = try #require(named("tool search").first)
        #expect(tool["span_attributes"]?["type"] == "tool")
        #expect(parentName(tool) == "act")
        #expect(tool["input"]?["tool_call_id"] == "call_1")
        #expect(tool["output"]?["status"] == "success")
        #expect(tool["metadata"]?["success"] == true)

        let bodies = fake.inserts.map(\.rawBody).joined()
        if recordContent {
            #expect(bodies.contains("SECRET-PROMPT"))
            #expect(tool["input"]?["arguments"] == ["query": "SECRET-ARG"])
            #expect(chats.contains { $0["output"]?.arrayValue?.first?["content"] == "SECRET-ANSWER three cats" })
        } else {
            #expect(!bodies.contains("SECRET"))
        }
    }

    @Test("an unreadable tool.completed is reported by the trace; the turn still maps to one consistent row tree")
    func unreadableEventStillMaps() throws {
        let failures = DecodeFailureLog()
        let (turnID, spans, toolCompletedID) = builtTurnSpans(
            captureContent: false, unreadableToolResult: true, failures: failures.reporter)
        // Braintrust reads spans, never events: the one reader of the event is the trace builder.
        #expect(failures.all == [.init(consumer: "trace", eventType: .toolCompleted, eventID: toolCompletedID)])

        let rows = spans.map(BraintrustRowMapper(recordContent: false).row(for:))
        #expect(rows.flatMap(BraintrustFakeServer.validate) == [])
        #expect(rows.map { $0["span_attributes"]?["name"]?.stringValue } == [
            "chat gpt-4o", "reason", "tool search", "act", "chat gpt-4o", "reason", "agent turn",
        ])
        #expect(Set(rows.compactMap { $0["root_span_id"]?.stringValue }).count == 1)
        #expect(rows.allSatisfy { $0["metadata"]?["turn_id"]?.stringValue == turnID })
        #expect(rows.filter { $0["span_parents"] == nil }.count == 1, "exactly one root")
        // The call whose result could not be read ended with its batch, as incomplete.
        let tool = try #require(rows.first { $0["span_attributes"]?["name"] == "tool search" })
        #expect(tool["error"] == "incomplete")
        #expect(tool["metadata"]?["success"] == false)
        #expect(tool["output"]?["error"] == "incomplete")
        let root = try #require(rows.last)
        #expect(root["error"] == nil)
        #expect(root["metadata"]?["turn_status"] == "completed")
    }

    @Test("BRAINTRUST_RECORD_CONTENT=true sends message content")
    func contentWhenEnabled() async throws {
        let fake = BraintrustFakeServer(apiKey: apiKey)
        try await fake.run { baseURL in
            let listener = try #require(
                await BraintrustListener.start(
                    configuration: testConfiguration(baseURL, recordContent: true), logger: BraintrustLogRecorder().logger()))
            try await running(listener) {
                listener.submit(SyntheticTurn.spans)
                await eventually("rows") { fake.allRows.count == SyntheticTurn.spans.count }
            }
        }
        let rows = rowsByName(fake.allRows)
        #expect(rows["chat gpt-4o"]?["input"] == [["role": "user", "content": "SECRET-PROMPT find cats"]])
        #expect(rows["tool search"]?["input"]?["arguments"] == ["query": "SECRET-ARG"])
    }

    @Test("a 503 is retried and the batch then delivered once")
    func retriesServiceUnavailable() async throws {
        let fake = BraintrustFakeServer(apiKey: apiKey)
        fake.scriptInserts([503])
        let logs = BraintrustLogRecorder()
        try await fake.run { baseURL in
            let listener = try #require(await BraintrustListener.start(configuration: testConfiguration(baseURL), logger: logs.logger()))
            try await running(listener) {
                listener.submit(SyntheticTurn.spans)
                await eventually("rows") { fake.allRows.count == SyntheticTurn.spans.count }
            }
            #expect(listener.stats.retries == 1)
            #expect(listener.stats.exportedSpans == SyntheticTurn.spans.count)
            #expect(listener.stats.droppedSpansTotal == 0)
        }
        #expect(fake.inserts.map(\.status) == [503, 200])
        #expect(fake.allRows.count == SyntheticTurn.spans.count)
        #expect(!logs.text.contains(apiKey))
    }

    @Test("a 400 drops the batch without retrying")
    func dropsRejectedBatch() async throws {
        let fake = BraintrustFakeServer(apiKey: apiKey)
        fake.scriptInserts([400])
        let logs = BraintrustLogRecorder()
        try await fake.run { baseURL in
            let listener = try #require(await BraintrustListener.start(configuration: testConfiguration(baseURL), logger: logs.logger()))
            try await running(listener) {
                listener.submit(SyntheticTurn.spans)
                await eventually("the batch to be dropped") { listener.stats.failedSpans == SyntheticTurn.spans.count }
            }
            #expect(listener.stats.retries == 0)
            #expect(listener.stats.exportedSpans == 0)
            #expect(listener.stats.droppedSpansTotal == SyntheticTurn.spans.count)
        }
        #expect(fake.inserts.map(\.status) == [400])
        #expect(fake.allRows.isEmpty)
        #expect(logs.all.contains { $0.level == .warning && $0.text.contains("400") })
        #expect(!logs.text.contains(apiKey))
    }

    @Test("a wrong key: startup fails with an error saying traces will NOT be sent, never logging the key")
    func wrongKey() async throws {
        let fake = BraintrustFakeServer(apiKey: "sk-bt-the-right-one")
        let logs = BraintrustLogRecorder()
        try await fake.run { baseURL in
            let listener = await BraintrustListener.start(configuration: testConfiguration(baseURL), logger: logs.logger())
            #expect(listener == nil)
        }
        #expect(fake.unauthorized == 1, "401 is not retried")
        let error = try #require(logs.all.first { $0.level == .error })
        #expect(error.message.contains("will NOT be sent"))
        #expect(error.metadata["reason"]?.contains("401") == true)
        #expect(error.metadata["reason"]?.contains("BRAINTRUST_API_KEY") == true)
        #expect(error.metadata["project_name"] == "Keel Tests")
        #expect(!logs.all.contains { $0.message == "Braintrust listener initialized" })
        #expect(!logs.text.contains(apiKey))
    }

    @Test("an unreachable API: startup retries for a bounded time, then gives up without crashing")
    func unreachable() async throws {
        // A port that was just free: connections are refused.
        let fake = BraintrustFakeServer(apiKey: apiKey)
        let deadURL = try await fake.run { $0 }
        let logs = BraintrustLogRecorder()
        var configuration = testConfiguration(deadURL)
        configuration.startupTimeout = .milliseconds(800)
        // AsyncHTTPClient keeps retrying a refused connection until the request's deadline, so
        // each attempt lasts this long.
        configuration.requestTimeout = .milliseconds(200)
        let started = ContinuousClock.now
        let listener = await BraintrustListener.start(configuration: configuration, logger: logs.logger())
        #expect(listener == nil)
        #expect(ContinuousClock.now - started < .seconds(5))
        #expect(logs.all.contains { $0.level == .warning && $0.message.contains("retrying") })
        let error = try #require(logs.all.first { $0.level == .error })
        #expect(error.message.contains("will NOT be sent"))
        #expect(error.metadata["api_url"] == deadURL)
        #expect(Int(error.metadata["attempts"] ?? "") ?? 0 >= 2)
        #expect(!logs.text.contains(apiKey))
    }
}
