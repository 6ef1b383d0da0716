import Foundation
import KeelCore
import KeelTestSupport
import Testing

@testable import KeelObservability

/// Events whose data does not decode as their type's payload: the builder reports each one
/// (consumer `trace`), skips what depends on its data, and traces the rest of the turn.
@Suite("TraceBuilder: undecodable events")
struct TraceDecodeFailureTests {
    @Test(
        "a tool.completed without tool_name is reported once and skipped; its tool span ends with the batch",
        arguments: [false, true])
    func unreadableToolResult(capture: Bool) throws {
        let readCall = ToolCall(id: "call_read", name: "read_file", arguments: ["path": "/notes.md"])
        let timeCall = ToolCall(id: "call_time", name: "get_current_time", arguments: [:])
        var script = TraceScript()
        script.input("Read my notes and tell me the time")
        script.startTurn("Read my notes and tell me the time")
        script.reasonStarted(iteration: 1)
        script.generate(text: "", toolCalls: [readCall, timeCall], finishReason: "tool_calls")
        script.actStarted([readCall, timeCall])
        script.toolStarted(readCall)
        script.toolStarted(timeCall)
        script.toolCompleted(timeCall, after: 20, result: ["time": "12:00"])
        let complete = TraceScript.toolCompletedPayload(
            readCall, durationMS: 40, result: ["content": "notes"], error: nil, status: "success")
        let unreadable = script.emit(EventType.toolCompleted, after: 40, JSONValue.encoding(complete).removing("tool_name"))
        let actCompleted = script.actCompleted(successes: 2, errors: 0)
        script.reasonStarted(iteration: 2)
        script.generate(text: "It is noon.", iteration: 2)
        script.turnCompleted(iterations: 2, usage: Usage(inputTokens: 200, outputTokens: 40))
        script.idle()

        let failures = DecodeFailureLog()
        let all = trace(script.events, options: TraceOptions(captureContent: capture, decodeFailures: failures.reporter))
        #expect(failures.all == [.init(consumer: "trace", eventType: .toolCompleted, eventID: unreadable.id)])
        try checkTree(all, sessionID: script.sessionID)
        #expect(all.map(\.name) == [
            "chat gpt-4o", "reason", "execute_tool get_current_time", "execute_tool read_file", "act", "chat gpt-4o",
            "reason", "invoke_agent keel",
        ])
        let read = try only(all, named: "execute_tool read_file")
        #expect(read.status == .error("incomplete"))
        #expect(string(read, "error.type") == "incomplete")
        #expect(read[attribute: "tool.success"] == .bool(false))
        #expect(read[attribute: "tool.status"] == nil, "the unread status is not guessed")
        #expect(read.end == actCompleted.ts)
        let time = try only(all, named: "execute_tool get_current_time")
        #expect(time.status == .unset && time[attribute: "tool.success"] == .bool(true))
        let root = try only(all, named: "invoke_agent keel")
        #expect(root.status == .unset)
        #expect(int(root, "turn.iterations") == 2)
        #expect(int(root, "gen_ai.usage.input_tokens") == 200)
        if capture {
            // The unread result is not in the conversation the second call was sent.
            let sent = try #require(json(spans(all, named: "chat gpt-4o")[1], "gen_ai.input.messages")?.arrayValue)
            #expect(sent.map { $0["role"] } == ["user", "assistant", "tool"])
            #expect(sent[2]["parts"]?.arrayValue?.first?["id"] == "call_time")
        }
    }

    @Test("an llm.generation without metadata is reported and makes no chat span; its reason is traced")
    func unreadableGeneration() throws {
        var script = TraceScript()
        script.input("Hello")
        script.startTurn("Hello")
        script.reasonStarted(iteration: 1)
        let (generation, _) = script.generate(text: "Hi!")
        let index = try #require(script.events.firstIndex(of: generation))
        script.events[index].data = generation.data.removing("metadata")
        script.turnCompleted(iterations: 1, usage: Usage(inputTokens: 100, outputTokens: 20))

        let failures = DecodeFailureLog()
        let all = trace(script.events, options: TraceOptions(decodeFailures: failures.reporter))
        #expect(failures.all == [.init(consumer: "trace", eventType: .llmGeneration, eventID: generation.id)])
        try checkTree(all, sessionID: script.sessionID)
        #expect(all.map(\.name) == ["reason", "invoke_agent keel"])
        #expect(int(try only(all, named: "reason"), "gen_ai.usage.input_tokens") == 100)
    }

    @Test("a turn.completed without usage is reported and still ends the turn, with the counted totals")
    func unreadableTerminalEvent() throws {
        var script = TraceScript()
        script.input("Hello")
        script.startTurn("Hello")
        script.reasonStarted(iteration: 1)
        script.generate(text: "Hi!", usage: Usage(inputTokens: 70, outputTokens: 7))
        let payload = script.turnCompletedPayload(iterations: 1, usage: Usage(inputTokens: 70, outputTokens: 7))
        let completed = script.emit(EventType.turnCompleted, JSONValue.encoding(payload).removing("usage"))

        let failures = DecodeFailureLog()
        var builder = TurnTraceBuilder(options: TraceOptions(decodeFailures: failures.reporter))
        let all = script.events.flatMap { builder.consume($0) }
        #expect(failures.all == [.init(consumer: "trace", eventType: .turnCompleted, eventID: completed.id)])
        try checkTree(all, sessionID: script.sessionID)
        #expect(builder.openTurnCount == 0)
        let root = try only(all, named: "invoke_agent keel")
        #expect(root.status == .unset)
        #expect(root.end == completed.ts)
        #expect(string(root, "turn.status") == "completed")
        #expect(int(root, "turn.iterations") == 1, "counted from reason.started")
        #expect(int(root, "gen_ai.usage.input_tokens") == 70, "summed from the chat spans")
        #expect(root[attribute: "time_to_first_token_ms"] == nil)
        #expect(
            int(root, "duration_ms") == Int64(TraceIDs.milliseconds(from: root.start, to: root.end)),
            "measured, as the unreadable event's duration is unknown")
    }

    @Test("an input.message without its message is reported; the turn still joins the caller's trace")
    func unreadableInput() throws {
        let traceID = "4bf92f3577b34da6a3ce929d0e0e4736"
        let parentID = "00f067aa0ba902b7"
        var script = TraceScript()
        let input = script.input("Hi", metadata: ["tenant": "acme"], traceID: traceID, spanID: parentID)
        script.events[0].data = input.data.removing("message")
        script.startTurn("Hi")
        script.reasonStarted(iteration: 1)
        script.generate(text: "Hello")
        script.turnCompleted(iterations: 1, usage: Usage())

        let failures = DecodeFailureLog()
        let all = trace(script.events, options: TraceOptions(captureContent: true, decodeFailures: failures.reporter))
        #expect(failures.all == [.init(consumer: "trace", eventType: .inputMessage, eventID: input.id)])
        try checkTree(all, sessionID: script.sessionID, rootParent: HexID.bytes(fromHex: parentID))
        #expect(all.allSatisfy { $0.traceID == HexID.bytes(fromHex: traceID) })
        #expect(all.allSatisfy { $0[attribute: "langfuse.trace.metadata.tenant"] == nil }, "its metadata was unreadable")
        // The turn's own input text comes from turn.started, which decoded.
        #expect(string(try only(all, named: "invoke_agent keel"), "input.value") == "Hi")
    }
}
