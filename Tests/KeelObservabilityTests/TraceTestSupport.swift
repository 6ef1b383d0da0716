import Foundation
import KeelCore
import Testing

@testable import KeelObservability

// MARK: - Event scripts

/// Writes one session's events the way the runtime does: increasing sequence, increasing ts,
/// `context{turn_id, input_message_id}` on the turn's events.
struct TraceScript {
    let sessionID: String
    var turnID = PublicID.make(.turn)
    var inputMessageID = PublicID.make(.message)
    var sequence = 0
    var clock: Date
    var events: [Event] = []

    init(sessionID: String = PublicID.make(.session), start: Date = Date(timeIntervalSince1970: 1_700_000_000)) {
        self.sessionID = sessionID
        self.clock = start
    }

    var turnContext: EventContext { EventContext(turnID: turnID, inputMessageID: inputMessageID) }

    /// An event with raw `data` (malformed events; everything else goes through a payload).
    @discardableResult
    mutating func emit(_ type: EventType, after milliseconds: Double = 10, context: EventContext? = nil, _ data: JSONValue)
        -> Event
    {
        sequence += 1
        clock = clock.addingTimeInterval(milliseconds / 1000)
        let event = Event(
            type: type, ts: clock, sessionID: sessionID, sequence: sequence, context: context ?? turnContext, data: data)
        events.append(event)
        return event
    }

    /// The payload's event, as the runtime writes it.
    @discardableResult
    mutating func emit<Payload: EventPayload>(
        _ payload: Payload, after milliseconds: Double = 10, context: EventContext? = nil
    ) -> Event {
        emit(Payload.eventType, after: milliseconds, context: context, .encoding(payload))
    }

    /// A new user message, and the ids of the turn it will start.
    @discardableResult
    mutating func input(
        _ text: String, metadata: JSONValue? = nil, traceID: String? = nil, spanID: String? = nil
    ) -> Event {
        turnID = PublicID.make(.turn)
        inputMessageID = PublicID.make(.message)
        let message = Message(id: inputMessageID, role: .user, content: [.text(text)], metadata: metadata)
        var context = EventContext(inputMessageID: inputMessageID)
        context.traceID = traceID
        context.spanID = spanID
        return emit(InputMessagePayload(message: message), context: context)
    }

    @discardableResult
    mutating func startTurn(_ text: String) -> Event {
        emit(SessionActivatedPayload(turnID: turnID, inputMessageID: inputMessageID))
        return emit(
            TurnStartedPayload(
                turnID: turnID, inputMessageID: inputMessageID, inputContent: text, agentID: nil, agentName: nil))
    }

    @discardableResult
    mutating func reasonStarted(
        iteration: Int, model: String = "gpt-4o", provider: String = "openai", agentID: String? = nil
    ) -> Event {
        emit(
            ReasonStartedPayload(
                agentID: agentID, iteration: iteration,
                metadata: .init(model: model, modelID: "\(provider)/\(model)", providerID: "provider_x", provider: provider)))
    }

    /// output.message.started/delta, llm.generation, output.message.completed, reason.completed.
    @discardableResult
    mutating func generate(
        text: String, toolCalls: [ToolCall] = [], model: String = "gpt-4o", provider: String = "openai",
        usage: Usage = Usage(inputTokens: 100, outputTokens: 20), durationMS: Int = 400, ttftMS: Int? = 120,
        finishReason: String = "stop", responseID: String = "resp_1", iteration: Int = 1
    ) -> (generation: Event, message: Message) {
        let messageID = PublicID.make(.message)
        emit(OutputMessageStartedPayload(turnID: turnID, messageID: messageID, model: model, iteration: iteration))
        if !text.isEmpty {
            emit(OutputMessageDeltaPayload(turnID: turnID, messageID: messageID, delta: text, accumulated: text), after: 200)
        }
        let generation = emit(
            LLMGenerationPayload(
                tools: ["read_file", "get_current_time"], output: .init(text: text, toolCalls: toolCalls),
                metadata: .init(
                    model: model + "-2024", provider: provider, usage: usage, durationMS: durationMS, success: true,
                    finishReasons: [finishReason], responseID: .some(responseID), timeToFirstTokenMS: ttftMS)),
            after: 200)
        var content: [ContentPart] = text.isEmpty ? [] : [.text(text)]
        content += toolCalls.map(ContentPart.toolCall)
        let message = Message(id: messageID, role: .agent, content: content)
        emit(OutputMessageCompletedPayload(message: message, model: model, usage: usage))
        emit(
            ReasonCompletedPayload(
                success: true, textPreview: String(text.prefix(200)), hasToolCalls: !toolCalls.isEmpty,
                toolCallCount: toolCalls.count, error: nil, durationMS: durationMS, usage: usage))
        return (generation, message)
    }

    @discardableResult
    mutating func actStarted(_ calls: [ToolCall]) -> Event {
        emit(ActStartedPayload(toolCalls: calls.map { .init(id: $0.id, name: $0.name) }))
    }

    @discardableResult
    mutating func toolStarted(_ call: ToolCall) -> Event {
        emit(ToolStartedPayload(toolCall: call), after: 1)
    }

    /// The `tool.completed` the runtime writes for `call`.
    static func toolCompletedPayload(
        _ call: ToolCall, durationMS: Int, result: JSONValue?, error: String?, status: String
    ) -> ToolCompletedPayload {
        ToolCompletedPayload(
            toolCallID: call.id, toolName: call.name, success: error == nil, status: status, durationMS: durationMS,
            result: result, error: error)
    }

    @discardableResult
    mutating func toolCompleted(
        _ call: ToolCall, after milliseconds: Double = 30, result: JSONValue? = nil, error: String? = nil,
        status: String = "success"
    ) -> Event {
        emit(
            Self.toolCompletedPayload(call, durationMS: Int(milliseconds), result: result, error: error, status: status),
            after: milliseconds)
    }

    @discardableResult
    mutating func actCompleted(successes: Int, errors: Int) -> Event {
        emit(ActCompletedPayload(completed: true, successCount: successes, errorCount: errors, durationMS: 80))
    }

    /// The `turn.completed` the runtime writes at the end of this turn.
    func turnCompletedPayload(iterations: Int, usage: Usage, ttftMS: Int? = 120) -> TurnCompletedPayload {
        TurnCompletedPayload(
            turnID: turnID, iterations: iterations, durationMS: 1234, usage: usage, finalMessageID: PublicID.make(.message),
            finalAnswerPreview: "", toolCallCount: 0, llmCallCount: iterations, status: "completed",
            timeToFirstTokenMS: ttftMS)
    }

    @discardableResult
    mutating func turnCompleted(iterations: Int, usage: Usage, ttftMS: Int? = 120) -> Event {
        emit(turnCompletedPayload(iterations: iterations, usage: usage, ttftMS: ttftMS))
    }

    mutating func idle(usage: Usage = Usage()) {
        emit(SessionIdledPayload(turnID: turnID, iterations: 1, usage: usage))
    }

    /// A complete one-iteration text turn.
    mutating func textTurn(_ prompt: String, answer: String, metadata: JSONValue? = nil, agentID: String? = nil) {
        input(prompt, metadata: metadata)
        startTurn(prompt)
        reasonStarted(iteration: 1, agentID: agentID)
        generate(text: answer)
        turnCompleted(iterations: 1, usage: Usage(inputTokens: 100, outputTokens: 20))
        idle()
    }
}

/// Runs events through a builder, returning every span in emission order.
func trace(_ events: [Event], options: TraceOptions = TraceOptions()) -> [SpanRecord] {
    var builder = TurnTraceBuilder(options: options)
    return events.flatMap { builder.consume($0) }
}

func idBytes(_ publicID: String, last count: Int) -> [UInt8] {
    let hex = publicID.split(separator: "_").last!
    return Array(HexID.bytes(fromHex: hex)!.suffix(count))
}

func spans(_ spans: [SpanRecord], named name: String) -> [SpanRecord] {
    spans.filter { $0.name == name }
}

func only(_ all: [SpanRecord], named name: String, sourceLocation: SourceLocation = #_sourceLocation)
    throws -> SpanRecord
{
    let matches = spans(all, named: name)
    try #require(matches.count == 1, "expected one '\(name)' span, got \(matches.map(\.name))", sourceLocation: sourceLocation)
    return matches[0]
}

func string(_ span: SpanRecord, _ key: String) -> String? {
    if case .string(let value)? = span[attribute: key] { return value }
    return nil
}

func int(_ span: SpanRecord, _ key: String) -> Int64? {
    if case .int(let value)? = span[attribute: key] { return value }
    return nil
}

func json(_ span: SpanRecord, _ key: String) -> JSONValue? {
    string(span, key).flatMap(JSONValue.parse)
}

/// Structural checks every turn trace must pass: one trace id, one root, parents present,
/// start ≤ end, children inside their parents, unique keys, session attributes on every span.
func checkTree(
    _ spans: [SpanRecord], sessionID: String, rootParent: [UInt8]? = nil, sourceLocation: SourceLocation = #_sourceLocation
) throws {
    try #require(!spans.isEmpty, sourceLocation: sourceLocation)
    #expect(Set(spans.map(\.traceID)).count == 1, "one trace id per turn", sourceLocation: sourceLocation)
    #expect(spans.allSatisfy { $0.traceID.count == 16 && $0.spanID.count == 8 }, sourceLocation: sourceLocation)
    #expect(Set(spans.map(\.spanID)).count == spans.count, "unique span ids", sourceLocation: sourceLocation)
    let roots = spans.filter { $0.name.hasPrefix("invoke_agent") }
    try #require(roots.count == 1, sourceLocation: sourceLocation)
    let root = roots[0]
    #expect(root.parentSpanID == rootParent, sourceLocation: sourceLocation)
    #expect(spans.last == root, "the root ends last", sourceLocation: sourceLocation)
    let byID = Dictionary(uniqueKeysWithValues: spans.map { ($0.spanID, $0) })
    for span in spans {
        #expect(span.start <= span.end, "\(span.name) starts before it ends", sourceLocation: sourceLocation)
        #expect(
            Set(span.attributes.map(\.key)).count == span.attributes.count, "\(span.name) has unique keys",
            sourceLocation: sourceLocation)
        for key in ["gen_ai.conversation.id", "session.id", "langfuse.session.id", "langfuse.trace.metadata.session_id"] {
            #expect(string(span, key) == sessionID, "\(span.name) \(key)", sourceLocation: sourceLocation)
        }
        #expect(string(span, "langfuse.trace.name") == root.name, sourceLocation: sourceLocation)
        #expect(string(span, "langfuse.trace.metadata.turn_id") == string(root, "turn.id"), sourceLocation: sourceLocation)
        #expect(span[attribute: "gen_ai.operation.name"] != nil, sourceLocation: sourceLocation)
        #expect(span[attribute: "openinference.span.kind"] != nil, sourceLocation: sourceLocation)
        #expect(int(span, "duration_ms") != nil, "\(span.name) duration_ms", sourceLocation: sourceLocation)
        guard span != root else { continue }
        let parent = try #require(byID[span.parentSpanID ?? []], "\(span.name) has its parent", sourceLocation: sourceLocation)
        #expect(parent.start <= span.start && span.end <= parent.end, "\(span.name) inside \(parent.name)",
                sourceLocation: sourceLocation)
    }
}
