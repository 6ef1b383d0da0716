import Foundation
import KeelCore
import KeelTestSupport
import Logging
import Synchronization
import Testing

@testable import KeelObservability

/// Drives the real `AgentLoop` and feeds its events to the builder, so the builder is checked
/// against the event shapes the runtime actually writes, not only hand-made ones.

private final class TraceLoopSink: TurnEventSink {
    let sessionID: String
    let events = Mutex<[Event]>([])

    init(sessionID: String) { self.sessionID = sessionID }

    func record(_ type: EventType, context: EventContext, data: JSONValue) -> Event {
        events.withLock { events in
            let event = Event(type: type, sessionID: sessionID, sequence: events.count + 1, context: context, data: data)
            events.append(event)
            return event
        }
    }

    func emit(_ type: EventType, context: EventContext, data: JSONValue) async throws -> Event {
        record(type, context: context, data: data)
    }
}

/// First call: thinking, then two tool calls; second call: the answer.
private final class TraceLoopDriver: LLMDriver {
    let calls = Mutex(0)

    func generate(
        _ request: LLMRequest, endpoint: LLMEndpoint, onDelta: @Sendable (LLMDelta) async throws -> Void
    ) async throws -> LLMResponse {
        let call = calls.withLock { count in
            count += 1
            return count
        }
        if call == 1 {
            try await onDelta(.thinking("two lookups needed"))
            return LLMResponse(
                toolCalls: [
                    ToolCall(id: "call_1", name: "lookup", arguments: ["key": "alpha"]),
                    ToolCall(id: "call_2", name: "lookup", arguments: ["key": "beta"]),
                ],
                usage: Usage(inputTokens: 30, outputTokens: 6), finishReason: "tool_calls", responseID: "r1",
                model: "sim-model-1", timeToFirstToken: 0.05)
        }
        try await onDelta(.text("alpha=1, beta=2"))
        return LLMResponse(
            text: "alpha=1, beta=2", usage: Usage(inputTokens: 50, outputTokens: 9, cacheReadTokens: 20),
            finishReason: "stop", responseID: "r2", model: "sim-model-1", timeToFirstToken: 0.02)
    }
}

private struct TraceLoopLookupTool: Tool {
    var definition: ToolDefinition {
        ToolDefinition(name: "lookup", description: "Looks a key up.", parameters: ["type": "object"])
    }

    func call(_ arguments: JSONValue, context: ToolContext) async throws -> JSONValue {
        guard arguments["key"]?.stringValue == "alpha" else { throw ToolError("no such key") }
        return ["value": 1]
    }
}

private struct TraceLoopNoFiles: SessionFileSystem {
    func read(_ path: String) async throws -> String { throw ToolError("no files") }
    func write(_ path: String, content: String) async throws -> FileStat { throw ToolError("no files") }
    func list(_ path: String) async throws -> [FileStat] { [] }
    func delete(_ path: String) async throws {}
    func stat(_ path: String) async throws -> FileStat? { nil }
}

@Suite("TraceBuilder with the real agent loop")
struct TraceBuilderLoopTests {
    @Test("the loop's own events build the documented tree")
    func realLoop() async throws {
        let sessionID = PublicID.make(.session)
        let agentID = PublicID.make(.agent)
        let sink = TraceLoopSink(sessionID: sessionID)
        let input = Message(role: .user, content: [.text("look up alpha and beta")], metadata: ["tenant": "acme"])
        var inputContext = EventContext(inputMessageID: input.id)
        inputContext.traceID = "0af7651916cd43dd8448eb211c80319c"
        inputContext.spanID = "b7ad6b7169203331"
        _ = sink.record(EventType.inputMessage, context: inputContext, data: .encoding(InputMessagePayload(message: input)))

        let plan = TurnPlan(
            sessionID: sessionID, agentID: agentID, inputMessageID: input.id, model: "sim-model",
            modelReference: "llmsim/sim-model", providerID: nil, endpoint: LLMEndpoint(providerType: .gemini, apiKey: nil),
            systemPrompt: "Be brief.", tools: [TraceLoopLookupTool()], reasoningEffort: "low")
        let loop = AgentLoop(
            driver: TraceLoopDriver(), sink: sink,
            toolContext: ToolContext(sessionID: sessionID, organizationID: BuiltIn.organizationID, files: TraceLoopNoFiles()),
            logger: Logger(label: "trace-loop-test"))
        _ = try await loop.run(plan, history: [input], inputText: "look up alpha and beta")
        _ = sink.record(
            EventType.sessionIdled, context: plan.context,
            data: .encoding(SessionIdledPayload(turnID: plan.turnID, iterations: 2, usage: Usage())))
        let events = sink.events.withLock { $0 }

        for capture in [false, true] {
            let failures = DecodeFailureLog()
            var builder = TurnTraceBuilder(
                options: TraceOptions(captureContent: capture, agentName: { _ in "Lookup" }, decodeFailures: failures.reporter))
            let spans = events.flatMap { builder.consume($0) }
            // Parallel tools finish in either order; everything else is in a fixed order.
            #expect(spans.map(\.name).filter { $0 != "execute_tool lookup" } == [
                "thinking", "chat sim-model", "reason", "act", "chat sim-model", "reason", "invoke_agent Lookup",
            ])
            #expect(spans.filter { $0.name == "execute_tool lookup" }.count == 2)
            #expect(spans.allSatisfy { $0.traceID == HexID.bytes(fromHex: "0af7651916cd43dd8448eb211c80319c") })
            let root = try #require(spans.last)
            #expect(root.name == "invoke_agent Lookup")
            #expect(root.parentSpanID == HexID.bytes(fromHex: "b7ad6b7169203331"))
            #expect(root.status == .unset)
            #expect(root[attribute: "gen_ai.agent.id"] == .string(agentID))
            #expect(root[attribute: "gen_ai.provider.name"] == .string("gcp.gemini"))
            #expect(root[attribute: "turn.iterations"] == .int(2))
            #expect(root[attribute: "gen_ai.usage.input_tokens"] == .int(80))
            #expect(root[attribute: "gen_ai.usage.cache_read.input_tokens"] == .int(20))
            #expect(root[attribute: "time_to_first_token_ms"] == .int(50))

            let byID = Dictionary(uniqueKeysWithValues: spans.map { ($0.spanID, $0) })
            for span in spans where span != root {
                let parent = try #require(span.parentSpanID.flatMap { byID[$0] })
                #expect(parent.start <= span.start && span.end <= parent.end)
                #expect(span[attribute: "langfuse.trace.metadata.tenant"] == .string("acme"))
                #expect(span[attribute: "langfuse.trace.metadata.agent_id"] == .string(agentID))
                switch span.name {
                case "thinking", "chat sim-model": #expect(parent.name == "reason")
                case "execute_tool lookup": #expect(parent.name == "act")
                default: #expect(parent == root)
                }
            }
            let tools = spans.filter { $0.name == "execute_tool lookup" }
            let failed = try #require(tools.first { $0[attribute: "gen_ai.tool.call.id"] == .string("call_2") })
            #expect(failed.status == .error("tool error"))
            let chats = spans.filter { $0.name == "chat sim-model" }
            #expect(chats.map { $0[attribute: "gen_ai.output.type"] } == [.string("tool_calls"), .string("text")])
            #expect(chats.map { $0[attribute: "gen_ai.response.model"] } == [.string("sim-model-1"), .string("sim-model-1")])

            let contentKeys = spans.flatMap(\.attributes).map(\.key).filter { TraceKey.contentKeys.contains($0) }
            if capture {
                let sent = chats[1][attribute: "gen_ai.input.messages"]
                guard case .string(let text)? = sent, let messages = JSONValue.parse(text)?.arrayValue else {
                    Issue.record("no input messages")
                    continue
                }
                #expect(messages.map { $0["role"] } == ["user", "assistant", "tool", "tool"])
                #expect(messages[3]["parts"]?.arrayValue?.first?["result"] == ["error": "no such key"])
                #expect(root[attribute: "output.value"] == .string("alpha=1, beta=2"))
            } else {
                #expect(contentKeys.isEmpty)
                #expect(!spans.flatMap(\.attributes).contains { "\($0.value)".contains("alpha") })
            }
            #expect(builder.openTurnCount == 0)
            #expect(failures.all.isEmpty, "every event the loop writes decodes")
        }
    }
}
