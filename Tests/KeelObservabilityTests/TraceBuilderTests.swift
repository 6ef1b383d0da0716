import Foundation
import KeelCore
import Synchronization
import Testing

@testable import KeelObservability

private final class CollisionRecorder: Sendable {
    let collisions = Mutex<[MetadataCollision]>([])
    var all: [MetadataCollision] { collisions.withLock { $0 } }
}

// MARK: - Tests

@Suite("TraceBuilder")
struct TraceBuilderTests {
    @Test("a text turn: invoke_agent → reason → chat, ids from the turn and events, semconv attributes")
    func textTurn() throws {
        var script = TraceScript()
        script.input("What time is it?")
        script.startTurn("What time is it?")
        let reasonStarted = script.reasonStarted(iteration: 1)
        let cacheUsage = Usage(inputTokens: 100, outputTokens: 20, cacheReadTokens: 30, cacheCreationTokens: 5)
        let (generation, _) = script.generate(text: "It is noon.", usage: cacheUsage)
        let completed = script.turnCompleted(iterations: 1, usage: cacheUsage)
        script.idle()

        var builder = TurnTraceBuilder()
        var emitted: [(EventType, [SpanRecord])] = []
        for event in script.events { emitted.append((event.type, builder.consume(event))) }
        let all = emitted.flatMap { $0.1 }
        #expect(all.map(\.name) == ["chat gpt-4o", "reason", "invoke_agent keel"])
        // Each span is returned by the event that ends it.
        #expect(emitted.filter { !$0.1.isEmpty }.map { $0.0 } == [
            EventType.llmGeneration, EventType.reasonCompleted, EventType.turnCompleted,
        ])
        try checkTree(all, sessionID: script.sessionID)
        #expect(builder.openTurnCount == 0)
        #expect(builder.trackedSessionCount == 0, "capture off: the session is forgotten when it idles")

        let root = try only(all, named: "invoke_agent keel")
        let reason = try only(all, named: "reason")
        let chat = try only(all, named: "chat gpt-4o")
        #expect(root.traceID == idBytes(script.turnID, last: 16))
        #expect(root.spanID == idBytes(script.turnID, last: 8))
        #expect(reason.spanID == idBytes(reasonStarted.id, last: 8))
        #expect(chat.spanID == idBytes(generation.id, last: 8))
        #expect(chat.parentSpanID == reason.spanID)
        #expect(reason.parentSpanID == root.spanID)

        #expect(root.kind == .internal && reason.kind == .internal && chat.kind == .client)
        #expect(all.allSatisfy { $0.status == .unset }, "success leaves the status unset")
        #expect(root.start == script.events.first { $0.type == EventType.turnStarted }!.ts)
        #expect(root.end == completed.ts)
        #expect(chat.end == generation.ts)
        #expect(chat.start == generation.ts.addingTimeInterval(-0.4))

        #expect(string(chat, "gen_ai.operation.name") == "chat")
        #expect(string(chat, "gen_ai.system") == "openai")
        #expect(string(chat, "gen_ai.provider.name") == "openai")
        #expect(string(chat, "gen_ai.request.model") == "gpt-4o")
        #expect(string(chat, "gen_ai.response.model") == "gpt-4o-2024")
        #expect(string(chat, "gen_ai.response.id") == "resp_1")
        #expect(chat[attribute: "gen_ai.response.finish_reasons"] == .stringArray(["stop"]))
        #expect(int(chat, "gen_ai.usage.input_tokens") == 100)
        #expect(int(chat, "gen_ai.usage.output_tokens") == 20)
        #expect(int(chat, "gen_ai.usage.cache_read_tokens") == 30)
        #expect(int(chat, "gen_ai.usage.cache_read.input_tokens") == 30)
        #expect(int(chat, "gen_ai.usage.cache_creation_tokens") == 5)
        #expect(int(chat, "gen_ai.usage.cache_creation.input_tokens") == 5)
        #expect(string(chat, "gen_ai.output.type") == "text")
        #expect(int(chat, "time_to_first_token_ms") == 120)
        #expect(chat[attribute: "gen_ai.response.time_to_first_chunk"] == .double(0.12))
        #expect(int(chat, "duration_ms") == 400)
        #expect(string(chat, "openinference.span.kind") == "LLM")

        #expect(string(reason, "gen_ai.operation.name") == "reason")
        #expect(string(reason, "openinference.span.kind") == "CHAIN")
        #expect(int(reason, "gen_ai.usage.input_tokens") == 100)
        #expect(int(reason, "reason.iteration") == 1)

        #expect(string(root, "gen_ai.operation.name") == "invoke_agent")
        #expect(string(root, "openinference.span.kind") == "AGENT")
        #expect(string(root, "gen_ai.provider.name") == "openai")
        #expect(string(root, "gen_ai.request.model") == "gpt-4o")
        #expect(string(root, "turn.id") == script.turnID)
        #expect(int(root, "turn.iterations") == 1)
        #expect(string(root, "turn.status") == "completed")
        #expect(int(root, "gen_ai.usage.input_tokens") == 100)
        #expect(int(root, "gen_ai.usage.cache_read.input_tokens") == 30)
        #expect(int(root, "duration_ms") == 1234)
        #expect(root[attribute: "gen_ai.response.time_to_first_chunk"] == .double(0.12))
        #expect(root[attribute: "gen_ai.agent.id"] == nil, "no agent on a bare-harness session")
        #expect(root[attribute: "langfuse.trace.metadata.agent_id"] == nil)
        #expect(root[attribute: "error.type"] == nil)
    }

    @Test("a tool turn: two parallel tools under act, two iterations, a failed tool")
    func toolTurn() throws {
        var script = TraceScript()
        let readCall = ToolCall(id: "call_read", name: "read_file", arguments: ["path": "/notes.md"])
        let timeCall = ToolCall(id: "call_time", name: "get_current_time", arguments: [:])
        script.input("Read my notes and tell me the time")
        script.startTurn("Read my notes and tell me the time")
        let reason1 = script.reasonStarted(iteration: 1, model: "claude-sonnet-4-5", provider: "anthropic")
        script.generate(
            text: "", toolCalls: [readCall, timeCall], model: "claude-sonnet-4-5", provider: "anthropic",
            usage: Usage(inputTokens: 50, outputTokens: 10), finishReason: "tool_use")
        let act = script.actStarted([readCall, timeCall])
        let readStarted = script.toolStarted(readCall)
        let timeStarted = script.toolStarted(timeCall)
        // The second tool finishes first; the first one fails.
        script.toolCompleted(timeCall, after: 20, result: ["time": "12:00"])
        script.toolCompleted(readCall, after: 40, error: "File not found: /notes.md", status: "error")
        script.actCompleted(successes: 1, errors: 1)
        let reason2 = script.reasonStarted(iteration: 2, model: "claude-sonnet-4-5", provider: "anthropic")
        script.generate(
            text: "It is noon; no notes.", model: "claude-sonnet-4-5", provider: "anthropic",
            usage: Usage(inputTokens: 80, outputTokens: 12))
        script.turnCompleted(iterations: 2, usage: Usage(inputTokens: 130, outputTokens: 22))
        script.idle()

        let all = trace(script.events)
        try checkTree(all, sessionID: script.sessionID)
        #expect(all.map(\.name) == [
            "chat claude-sonnet-4-5", "reason", "execute_tool get_current_time", "execute_tool read_file", "act",
            "chat claude-sonnet-4-5", "reason", "invoke_agent keel",
        ])
        let root = try only(all, named: "invoke_agent keel")
        let reasons = spans(all, named: "reason")
        let chats = spans(all, named: "chat claude-sonnet-4-5")
        let actSpan = try only(all, named: "act")
        let read = try only(all, named: "execute_tool read_file")
        let time = try only(all, named: "execute_tool get_current_time")

        #expect(reasons.map(\.spanID) == [idBytes(reason1.id, last: 8), idBytes(reason2.id, last: 8)])
        #expect(reasons.allSatisfy { $0.parentSpanID == root.spanID })
        #expect(chats.map(\.parentSpanID) == reasons.map(\.spanID))
        #expect(actSpan.spanID == idBytes(act.id, last: 8) && actSpan.parentSpanID == root.spanID)
        #expect(read.spanID == idBytes(readStarted.id, last: 8) && read.parentSpanID == actSpan.spanID)
        #expect(time.spanID == idBytes(timeStarted.id, last: 8) && time.parentSpanID == actSpan.spanID)
        #expect(reasons[0].end <= actSpan.start && actSpan.end <= reasons[1].start, "iterations are sequential")
        #expect(read.start < time.start && time.end < read.end, "the tools overlap")

        #expect(string(chats[0], "gen_ai.output.type") == "tool_calls")
        #expect(string(chats[1], "gen_ai.output.type") == "text")
        #expect(chats[0][attribute: "gen_ai.response.finish_reasons"] == .stringArray(["tool_use"]))
        #expect(string(chats[0], "gen_ai.system") == "anthropic")
        #expect(string(chats[0], "gen_ai.provider.name") == "anthropic")
        #expect(int(reasons[1], "reason.iteration") == 2)

        #expect(string(read, "gen_ai.operation.name") == "execute_tool")
        #expect(string(read, "openinference.span.kind") == "TOOL")
        #expect(string(read, "gen_ai.tool.name") == "read_file")
        #expect(string(read, "gen_ai.tool.call.id") == "call_read")
        #expect(read[attribute: "tool.success"] == .bool(false))
        #expect(string(read, "error.type") == "error")
        #expect(read.status == .error("tool error"))
        #expect(int(read, "duration_ms") == 40)
        #expect(time[attribute: "tool.success"] == .bool(true))
        #expect(time.status == .unset && time[attribute: "error.type"] == nil)
        #expect(string(actSpan, "gen_ai.operation.name") == "act")
        #expect(string(actSpan, "openinference.span.kind") == "CHAIN")
        #expect(actSpan.status == .unset, "a failed tool fails its own span, not the batch")

        #expect(int(root, "turn.iterations") == 2)
        #expect(int(root, "gen_ai.usage.input_tokens") == 130)
        #expect(int(root, "gen_ai.usage.output_tokens") == 22)
        #expect(root.status == .unset)
    }

    @Test("a failed LLM call fails chat, reason and the root; gemini is gcp.gemini")
    func failedLLMTurn() throws {
        var script = TraceScript()
        script.input("Hello")
        script.startTurn("Hello")
        script.reasonStarted(iteration: 1, model: "gemini-2.5-flash", provider: "gemini")
        let messageID = PublicID.make(.message)
        script.emit(
            OutputMessageStartedPayload(
                turnID: script.turnID, messageID: messageID, model: "gemini-2.5-flash", iteration: 1))
        script.emit(
            LLMGenerationPayload(
                tools: nil, output: .init(text: "", toolCalls: []),
                metadata: .init(
                    model: "gemini-2.5-flash", provider: "gemini", durationMS: 250, success: false,
                    error: "provider_rate_limited")),
            after: 300)
        script.emit(
            ReasonCompletedPayload(
                success: false, textPreview: nil, hasToolCalls: false, toolCallCount: 0, error: "provider_rate_limited",
                durationMS: 250, usage: nil))
        let apology = Message(id: messageID, role: .agent, content: [.text(UserFacingText.llmFailure)])
        script.emit(
            OutputMessageCompletedPayload(
                message: apology, model: "gemini-2.5-flash", usage: Usage(), errorCode: "provider_rate_limited"))
        script.emit(
            TurnFailedPayload(
                turnID: script.turnID, error: UserFacingText.turnFailure, errorCode: "provider_rate_limited",
                iterations: 1))
        script.idle()

        let all = trace(script.events)
        try checkTree(all, sessionID: script.sessionID)
        #expect(all.map(\.name) == ["chat gemini-2.5-flash", "reason", "invoke_agent keel"])
        let chat = try only(all, named: "chat gemini-2.5-flash")
        let reason = try only(all, named: "reason")
        let root = try only(all, named: "invoke_agent keel")
        for span in [chat, reason, root] {
            #expect(span.status == .error("provider_rate_limited"), "\(span.name)")
            #expect(string(span, "error.type") == "provider_rate_limited", "\(span.name)")
        }
        #expect(string(chat, "gen_ai.system") == "gemini")
        #expect(string(chat, "gen_ai.provider.name") == "gcp.gemini")
        #expect(string(root, "gen_ai.provider.name") == "gcp.gemini")
        #expect(chat[attribute: "gen_ai.output.type"] == nil, "nothing was generated")
        #expect(chat[attribute: "gen_ai.usage.input_tokens"] == nil)
        #expect(root[attribute: "gen_ai.usage.input_tokens"] == nil, "no usage reported for a failed turn")
        #expect(string(root, "turn.status") == "failed")
        #expect(int(root, "turn.iterations") == 1)
        #expect(all.allSatisfy { span in !span.attributes.contains { "\($0.value)".contains("encountered an error") } })
    }

    @Test("a turn cancelled mid-tool ends the open tool and act spans as cancelled")
    func cancelledTurn() throws {
        var script = TraceScript()
        let call = ToolCall(id: "call_py", name: "run_python", arguments: ["code": "while True: pass"])
        script.input("Loop forever")
        script.startTurn("Loop forever")
        script.reasonStarted(iteration: 1)
        script.generate(text: "", toolCalls: [call], usage: Usage(inputTokens: 40, outputTokens: 8))
        script.actStarted([call])
        script.toolStarted(call)
        let cancelled = script.emit(
            TurnCancelledPayload(
                turnID: script.turnID, reason: "user_requested", usage: Usage(inputTokens: 40, outputTokens: 8)),
            after: 500)
        // The runtime then records the notice and the reply under the cancelled turn's id.
        let notice = Message(role: .user, content: [.text(UserFacingText.cancelRequest)])
        script.emit(
            InputMessagePayload(message: notice),
            context: EventContext(turnID: script.turnID, inputMessageID: notice.id))
        let reply = Message(role: .agent, content: [.text(UserFacingText.cancelled)])
        script.emit(OutputMessageCompletedPayload(message: reply, model: "gpt-4o", usage: Usage()))
        script.idle()

        var builder = TurnTraceBuilder()
        let all = script.events.flatMap { builder.consume($0) }
        try checkTree(all, sessionID: script.sessionID)
        #expect(all.map(\.name) == ["chat gpt-4o", "reason", "execute_tool run_python", "act", "invoke_agent keel"])
        let tool = try only(all, named: "execute_tool run_python")
        let act = try only(all, named: "act")
        let root = try only(all, named: "invoke_agent keel")
        for span in [tool, act, root] {
            #expect(span.status == .error("cancelled"), "\(span.name)")
            #expect(string(span, "error.type") == "cancelled", "\(span.name)")
            #expect(span.end == cancelled.ts, "\(span.name) ends at the cancellation")
        }
        #expect(tool[attribute: "tool.success"] == .bool(false))
        #expect(try only(all, named: "reason").status == .unset, "the finished iteration keeps its status")
        #expect(string(root, "turn.status") == "cancelled")
        #expect(int(root, "gen_ai.usage.input_tokens") == 40)
        #expect(builder.openTurnCount == 0 && builder.trackedSessionCount == 0)
    }

    @Test("thinking is a child of reason; its text only with capture")
    func thinking() throws {
        func script() -> TraceScript {
            var script = TraceScript()
            script.input("Think hard: 17 * 23?")
            script.startTurn("Think hard: 17 * 23?")
            script.reasonStarted(iteration: 1, model: "o3", provider: "openai")
            script.emit(ReasonThinkingStartedPayload(turnID: script.turnID, model: "o3"))
            script.emit(ReasonThinkingDeltaPayload(turnID: script.turnID, delta: "17*20=340", accumulated: "17*20=340"))
            script.emit(
                ReasonThinkingCompletedPayload(turnID: script.turnID, thinking: "17*20=340, 17*3=51, sum 391"), after: 100)
            script.generate(text: "391", model: "o3")
            script.turnCompleted(iterations: 1, usage: Usage(inputTokens: 100, outputTokens: 20))
            return script
        }
        let plain = script()
        let all = trace(plain.events)
        try checkTree(all, sessionID: plain.sessionID)
        #expect(all.map(\.name) == ["thinking", "chat o3", "reason", "invoke_agent keel"])
        let thinking = try only(all, named: "thinking")
        let reason = try only(all, named: "reason")
        #expect(thinking.parentSpanID == reason.spanID)
        #expect(thinking.spanID == idBytes(plain.events.first { $0.type == EventType.reasonThinkingStarted }!.id, last: 8))
        #expect(string(thinking, "gen_ai.operation.name") == "thinking")
        #expect(string(thinking, "openinference.span.kind") == "CHAIN")
        #expect(string(thinking, "gen_ai.request.model") == "o3")
        #expect(int(thinking, "duration_ms") == 110)
        #expect(!all.contains { span in span.attributes.contains { "\($0.value)".contains("17*20") } })

        let captured = script()
        let withContent = trace(captured.events, options: TraceOptions(captureContent: true))
        let capturedThinking = try only(withContent, named: "thinking")
        #expect(string(capturedThinking, "output.value") == "17*20=340, 17*3=51, sum 391")
        #expect(json(capturedThinking, "gen_ai.output.messages") == [
            ["role": "assistant", "parts": [["type": "reasoning", "content": "17*20=340, 17*3=51, sum 391"]]],
        ])
        let chat = try only(withContent, named: "chat o3")
        #expect(json(chat, "gen_ai.output.messages") == [
            ["role": "assistant", "finish_reason": "stop",
             "parts": [["type": "reasoning", "content": "17*20=340, 17*3=51, sum 391"],
                       ["type": "text", "content": "391"]]],
        ])
    }

    @Test("request metadata lands on every span as langfuse.trace.metadata.*; runtime keys win and are reported")
    func metadataCollision() throws {
        let recorder = CollisionRecorder()
        let agentID = PublicID.make(.agent)
        let options = TraceOptions(
            agentName: { $0 == agentID ? "Support Bot" : nil },
            onMetadataCollision: { collision in recorder.collisions.withLock { $0.append(collision) } })
        var script = TraceScript()
        script.textTurn(
            "Hi", answer: "Hello!",
            metadata: ["tenant": "acme", "feature_flag": true, "priority": 3, "ratio": 0.5,
                       "session_id": "spoofed", "agent_id": "spoofed-agent", "nested": ["a": 1],
                       "bad.key": "dropped"],
            agentID: agentID)

        let all = trace(script.events, options: options)
        try checkTree(all, sessionID: script.sessionID)
        let root = try only(all, named: "invoke_agent Support Bot")
        #expect(string(root, "gen_ai.agent.id") == agentID)
        #expect(string(root, "gen_ai.agent.name") == "Support Bot")
        for span in all {
            #expect(string(span, "langfuse.trace.metadata.tenant") == "acme")
            #expect(span[attribute: "langfuse.trace.metadata.feature_flag"] == .bool(true))
            #expect(int(span, "langfuse.trace.metadata.priority") == 3)
            #expect(span[attribute: "langfuse.trace.metadata.ratio"] == .double(0.5))
            #expect(string(span, "langfuse.trace.metadata.session_id") == script.sessionID)
            #expect(string(span, "langfuse.trace.metadata.turn_id") == script.turnID)
            #expect(string(span, "langfuse.trace.metadata.agent_id") == agentID)
            #expect(span[attribute: "langfuse.trace.metadata.nested"] == nil)
            #expect(!span.attributes.contains { $0.key.hasPrefix("langfuse.trace.metadata.bad") })
            #expect(string(span, "langfuse.trace.name") == "invoke_agent Support Bot")
        }
        #expect(recorder.all == [
            MetadataCollision(sessionID: script.sessionID, turnID: script.turnID, keys: ["agent_id", "session_id"]),
        ], "reported once per turn")
    }

    @Test("a W3C trace context on input.message makes the turn join that trace")
    func traceparentSeam() throws {
        let traceID = "4bf92f3577b34da6a3ce929d0e0e4736"
        let parentID = "00f067aa0ba902b7"
        var script = TraceScript()
        script.input("Hi", traceID: traceID, spanID: parentID)
        script.startTurn("Hi")
        script.reasonStarted(iteration: 1)
        script.generate(text: "Hello")
        script.turnCompleted(iterations: 1, usage: Usage())
        let joined = trace(script.events)
        try checkTree(joined, sessionID: script.sessionID, rootParent: HexID.bytes(fromHex: parentID))
        #expect(joined.allSatisfy { $0.traceID == HexID.bytes(fromHex: traceID) })
        let root = try only(joined, named: "invoke_agent keel")
        #expect(root.spanID == idBytes(script.turnID, last: 8))

        // An all-zero (invalid) trace id is ignored.
        var invalid = TraceScript()
        invalid.input("Hi", traceID: String(repeating: "0", count: 32), spanID: parentID)
        invalid.startTurn("Hi")
        invalid.turnCompleted(iterations: 0, usage: Usage())
        let own = trace(invalid.events)
        try checkTree(own, sessionID: invalid.sessionID)
        #expect(own[0].traceID == idBytes(invalid.turnID, last: 16))
    }

    @Test("without capture no content reaches any attribute; with it, semconv messages are rebuilt")
    func contentCapture() throws {
        let secretPrompt = "my account number is 12345678"
        let readCall = ToolCall(id: "call_a", name: "read_file", arguments: ["path": "/secret-path.txt"])
        let timeCall = ToolCall(id: "call_b", name: "get_current_time", arguments: ["zone": "Mars/Olympus"])
        var script = TraceScript()
        // An earlier turn is part of the conversation the model is sent.
        script.textTurn("earlier question", answer: "earlier answer")
        script.input(secretPrompt)
        script.startTurn(secretPrompt)
        script.reasonStarted(iteration: 1)
        script.generate(text: "Let me look.", toolCalls: [readCall, timeCall], finishReason: "tool_calls")
        script.actStarted([readCall, timeCall])
        script.toolStarted(readCall)
        script.toolStarted(timeCall)
        script.toolCompleted(timeCall, after: 5, result: ["time": "sol 42"])
        script.toolCompleted(readCall, after: 20, result: ["content": "TOP-SECRET-CONTENT"])
        script.actCompleted(successes: 2, errors: 0)
        // A message queued mid-turn is not part of this turn's history.
        script.emit(
            InputMessagePayload(message: Message(id: "message_queued", role: .user, content: [.text("queued-later")])),
            context: EventContext(inputMessageID: "message_queued"))
        script.reasonStarted(iteration: 2)
        script.generate(text: "Your file says TOP-SECRET-CONTENT at sol 42.")
        script.turnCompleted(iterations: 2, usage: Usage())

        let secrets = [
            secretPrompt, "secret-path", "Mars/Olympus", "TOP-SECRET-CONTENT", "sol 42", "Let me look", "earlier",
        ]
        let off = trace(script.events)
        #expect(off.count == 3 + 8)
        for span in off {
            #expect(span.attributes.allSatisfy { !TraceKey.contentKeys.contains($0.key) }, "\(span.name)")
            for attribute in span.attributes {
                for secret in secrets {
                    #expect(!"\(attribute.value)".contains(secret), "\(span.name) \(attribute.key) leaks \(secret)")
                }
            }
            if case .error(let message) = span.status { #expect(!secrets.contains { message.contains($0) }) }
        }

        let on = trace(script.events, options: TraceOptions(captureContent: true))
        let turnSpans = Array(on.suffix(8))
        try checkTree(turnSpans, sessionID: script.sessionID)
        let chats = spans(turnSpans, named: "chat gpt-4o")
        try #require(chats.count == 2)
        #expect(json(chats[0], "gen_ai.input.messages") == [
            ["role": "user", "parts": [["type": "text", "content": "earlier question"]]],
            ["role": "assistant", "parts": [["type": "text", "content": "earlier answer"]]],
            ["role": "user", "parts": [["type": "text", "content": .string(secretPrompt)]]],
        ])
        #expect(json(chats[0], "gen_ai.output.messages") == [
            ["role": "assistant", "finish_reason": "tool_call",
             "parts": [["type": "text", "content": "Let me look."],
                       ["type": "tool_call", "id": "call_a", "name": "read_file", "arguments": ["path": "/secret-path.txt"]],
                       ["type": "tool_call", "id": "call_b", "name": "get_current_time",
                        "arguments": ["zone": "Mars/Olympus"]]]],
        ])
        let second = try #require(json(chats[1], "gen_ai.input.messages")?.arrayValue)
        #expect(second.count == 6, "2 earlier + prompt + tool-call message + 2 results; not the queued message")
        // Results in call order although call_b finished first.
        #expect(second[4] == ["role": "tool", "parts": [["type": "tool_call_response", "id": "call_a",
                                                         "result": ["content": "TOP-SECRET-CONTENT"]]]])
        #expect(second[5] == ["role": "tool", "parts": [["type": "tool_call_response", "id": "call_b",
                                                         "result": ["time": "sol 42"]]]])
        let read = try only(turnSpans, named: "execute_tool read_file")
        #expect(json(read, "gen_ai.tool.call.arguments") == ["path": "/secret-path.txt"])
        #expect(json(read, "gen_ai.tool.call.result") == ["content": "TOP-SECRET-CONTENT"])
        let root = try only(turnSpans, named: "invoke_agent keel")
        #expect(string(root, "input.value") == secretPrompt)
        #expect(string(root, "output.value") == "Your file says TOP-SECRET-CONTENT at sol 42.")
    }

    @Test("interleaved sessions and a queued input: one trace per turn, metadata follows its own input")
    func interleavedSessions() throws {
        var first = TraceScript(start: Date(timeIntervalSince1970: 1_700_000_000))
        var second = TraceScript(start: Date(timeIntervalSince1970: 1_700_000_000.005))
        first.textTurn("one", answer: "1", metadata: ["tenant": "a"])
        second.textTurn("two", answer: "2", metadata: ["tenant": "b"])
        // A second input in the first session is queued while its first turn still runs.
        var queued = first
        queued.events = []
        queued.input("three", metadata: ["tenant": "c"])
        queued.startTurn("three")
        queued.reasonStarted(iteration: 1)
        queued.generate(text: "3")
        queued.turnCompleted(iterations: 1, usage: Usage())
        var firstEvents: [Event] = Array(first.events.dropLast(2))
        firstEvents.append(queued.events[0])
        firstEvents += first.events.suffix(2)
        firstEvents += queued.events.dropFirst()
        var merged: [Event] = zip(firstEvents, second.events).flatMap { [$0, $1] }
        merged += firstEvents.dropFirst(second.events.count)
        let all = trace(merged)
        let traces = Dictionary(grouping: all, by: \.traceID)
        #expect(traces.count == 3)
        for (_, spans) in traces {
            let session = try #require(string(spans[0], "gen_ai.conversation.id"))
            try checkTree(spans, sessionID: session)
        }
        let tenants = Set(all.filter { $0.parentSpanID == nil }.map { root in
            "\(string(root, "turn.id") ?? "?")=\(string(root, "langfuse.trace.metadata.tenant") ?? "?")"
        })
        #expect(tenants == ["\(first.turnID)=a", "\(second.turnID)=b", "\(queued.turnID)=c"])
    }

    @Test("state stays bounded: idle sessions are dropped, the oldest sessions evicted")
    func boundedState() throws {
        var builder = TurnTraceBuilder(options: TraceOptions(maxSessions: 5))
        var open: [TraceScript] = []
        for index in 0..<12 {
            var script = TraceScript()
            script.input("hi \(index)")
            script.startTurn("hi \(index)")
            for event in script.events { _ = builder.consume(event) }
            open.append(script)
        }
        #expect(builder.trackedSessionCount <= 5)
        // The newest session survived and can still finish its turn.
        var newest = open[11]
        newest.events = []
        newest.turnCompleted(iterations: 0, usage: Usage())
        #expect(builder.consume(newest.events[0]).map(\.name) == ["invoke_agent keel"])

        // Shutdown ends the turns still open.
        let flushed = builder.finishAll(at: Date(timeIntervalSince1970: 1_800_000_000), reason: "shutdown")
        #expect(flushed.allSatisfy { $0.status == .error("shutdown") && $0.parentSpanID == nil })
        #expect(builder.openTurnCount == 0)

        // With capture, history is capped per session.
        var capturing = TurnTraceBuilder(options: TraceOptions(captureContent: true, maxHistoryMessages: 3))
        var script = TraceScript()
        for index in 0..<4 { script.textTurn("q\(index)", answer: "a\(index)") }
        script.input("last")
        script.startTurn("last")
        script.reasonStarted(iteration: 1)
        script.generate(text: "done")
        script.turnCompleted(iterations: 1, usage: Usage())
        let last = script.events.flatMap { capturing.consume($0) }.last { $0.name == "chat gpt-4o" }
        #expect(try #require(last.flatMap { json($0, "gen_ai.input.messages") }?.arrayValue).count == 3)
        #expect(capturing.trackedSessionCount == 1, "capture keeps the session's history")
    }

    @Test("a turn without a terminal event is ended by session.idled or by the next turn")
    func turnsWithoutTerminalEvent() throws {
        var script = TraceScript()
        script.input("first")
        script.startTurn("first")
        script.reasonStarted(iteration: 1)
        // Storage failed mid-turn: the engine idles the session with no turn context.
        let idled = script.emit(
            SessionIdledPayload(turnID: script.turnID, iterations: 1, usage: Usage()), context: EventContext())
        var builder = TurnTraceBuilder()
        let ended = script.events.flatMap { builder.consume($0) }
        try checkTree(ended, sessionID: script.sessionID)
        #expect(ended.map(\.name) == ["reason", "invoke_agent keel"])
        #expect(ended.allSatisfy { $0.status == .error("incomplete") && $0.end == idled.ts })
        #expect(builder.openTurnCount == 0 && builder.trackedSessionCount == 0)

        var next = TraceScript()
        next.input("a")
        next.startTurn("a")
        let firstTurn = next.turnID
        next.input("b")
        let secondStart = next.startTurn("b")
        let abandoned = next.events.flatMap { builder.consume($0) }
        #expect(abandoned.map { string($0, "turn.id") } == [firstTurn])
        #expect(abandoned.first?.status == .error("abandoned"))
        #expect(abandoned.first?.end == secondStart.ts)
        #expect(builder.openTurnCount == 1)
    }

    @Test("content capture from the environment")
    func captureFromEnvironment() {
        #expect(!TraceOptions.captureContent(environment: [:]))
        #expect(TraceOptions.captureContent(environment: ["OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT": "true"]))
        #expect(TraceOptions.captureContent(environment: ["OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT": "SPAN_ONLY"]))
        #expect(TraceOptions.captureContent(environment: ["OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT": "span_and_event"]))
        #expect(!TraceOptions.captureContent(environment: ["OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT": "EVENT_ONLY"]))
        #expect(!TraceOptions.captureContent(environment: ["OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT": "NO_CONTENT"]))
        #expect(TraceOptions.captureContent(environment: ["OTEL_RECORD_CONTENT": "true"]))
        #expect(!TraceOptions.captureContent(environment: [
            "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT": "false", "OTEL_RECORD_CONTENT": "true",
        ]), "the standard variable wins")
    }
}
