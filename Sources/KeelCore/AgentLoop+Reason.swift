import Foundation
import Synchronization

extension AgentLoop {
    struct Reasoning {
        var message: Message
        var response: LLMResponse?
        var errorCode: String
    }

    /// One streaming model call, with its `reason.*`, `output.message.*` and `llm.generation` events.
    func reason(_ plan: TurnPlan, messages: [Message], iteration: Int, messageID: String) async throws -> Reasoning {
        let context = plan.context
        try await sink.emit(
            EventType.reasonStarted, context: context,
            data: ["agent_id": JSONValue(plan.agentID), "iteration": .init(iteration),
                   "metadata": ["model": .string(plan.model), "model_id": .string(plan.modelReference),
                                "provider_id": JSONValue(plan.providerID),
                                "provider": .string(plan.endpoint.providerType.rawValue)]])
        try await sink.emit(
            EventType.outputMessageStarted, context: context,
            data: ["turn_id": .string(plan.turnID), "message_id": .string(messageID), "model": .string(plan.model),
                   "iteration": .init(iteration)])

        let request = LLMRequest(
            model: plan.model, systemPrompt: plan.systemPrompt, messages: messages,
            tools: plan.tools.map(\.definition), parallelToolCalls: plan.parallelToolCalls,
            reasoningEffort: plan.reasoningEffort)
        let batcher = DeltaBatcher(
            plan: plan, messageID: messageID, sink: sink, interval: plan.deltaBatchInterval)
        let started = ContinuousClock.now

        let response: LLMResponse
        do {
            response = try await driver.generate(request, endpoint: plan.endpoint) { delta in
                do {
                    try await batcher.add(delta)
                } catch {
                    throw SinkFailure(underlying: error)
                }
            }
        } catch is CancellationError {
            throw CancellationError()
        } catch let failure as SinkFailure {
            // Storage failed, not the model: abort the turn instead of reporting an LLM error.
            throw failure.underlying
        } catch {
            if Task.isCancelled { throw CancellationError() }
            let llmError = error as? LLMError
            let code = llmError?.code ?? "llm_error"
            logger.warning(
                "LLM call failed",
                metadata: ["session_id": "\(plan.sessionID)", "turn_id": "\(plan.turnID)", "model": "\(plan.model)",
                           "error_code": "\(code)", "detail": "\(llmError?.detail ?? String(describing: type(of: error)))"])
            try await sink.emit(
                EventType.llmGeneration, context: context,
                data: ["output": ["text": "", "tool_calls": []],
                       "metadata": ["model": .string(plan.model), "provider": .string(plan.endpoint.providerType.rawValue),
                                    "success": false, "error": .string(code), "duration_ms": .init(milliseconds(since: started))]])
            try await sink.emit(
                EventType.reasonCompleted, context: context,
                data: ["success": false, "error": .string(code), "has_tool_calls": false, "tool_call_count": 0,
                       "duration_ms": .init(milliseconds(since: started))])
            return Reasoning(message: Message(id: messageID, role: .agent, content: []), response: nil, errorCode: code)
        }
        try await batcher.flush()

        var content: [ContentPart] = response.text.isEmpty ? [] : [.text(response.text)]
        content += response.toolCalls.map(ContentPart.toolCall)
        let message = Message(id: messageID, role: .agent, content: content)
        let durationMS = milliseconds(since: started)
        var generationMetadata: [String: JSONValue] = [
            "model": .string(response.model ?? plan.model), "provider": .string(plan.endpoint.providerType.rawValue),
            "usage": response.usage.json, "duration_ms": .init(durationMS), "success": true,
            "finish_reasons": response.finishReason.map { [.string($0)] } ?? [],
            "response_id": JSONValue(response.responseID),
        ]
        if let ttft = response.timeToFirstToken {
            generationMetadata["time_to_first_token_ms"] = .init(Int(ttft * 1000))
        }
        try await sink.emit(
            EventType.llmGeneration, context: context,
            data: ["tools": .array(plan.tools.map { .string($0.definition.name) }),
                   "output": ["text": .string(response.text),
                              "tool_calls": .array(response.toolCalls.map { .encoding($0) })],
                   "metadata": .object(generationMetadata)])
        try await sink.emit(
            EventType.outputMessageCompleted, context: context,
            data: ["message": .encoding(message), "metadata": ["model": .string(response.model ?? plan.model)],
                   "usage": response.usage.json])
        try await sink.emit(
            EventType.reasonCompleted, context: context,
            data: ["success": true, "text_preview": .string(String(response.text.prefix(200))),
                   "has_tool_calls": .bool(!response.toolCalls.isEmpty),
                   "tool_call_count": .init(response.toolCalls.count), "duration_ms": .init(durationMS),
                   "usage": response.usage.json])
        return Reasoning(message: message, response: response, errorCode: "")
    }
}

/// Wraps an event-sink error raised while streaming, so it is not mistaken for a model failure.
struct SinkFailure: Error {
    var underlying: any Error
}

/// Coalesces streamed text into `output.message.delta` events, at most one per interval
/// (plus a final flush), and thinking into `reason.thinking.*` events.
final class DeltaBatcher: Sendable {
    private struct State {
        var pendingText = ""
        var accumulated = ""
        var lastFlush: ContinuousClock.Instant?
        var thinking = ""
        var thinkingStarted = false
    }

    private let plan: TurnPlan
    private let messageID: String
    private let sink: any TurnEventSink
    private let interval: Duration
    private let state = Mutex(State())

    init(plan: TurnPlan, messageID: String, sink: any TurnEventSink, interval: Duration) {
        self.plan = plan
        self.messageID = messageID
        self.sink = sink
        self.interval = interval
    }

    func add(_ delta: LLMDelta) async throws {
        switch delta {
        case .text(let text):
            let now = ContinuousClock.now
            let due = state.withLock { state -> Bool in
                state.pendingText += text
                state.accumulated += text
                // The first delta goes out at once so clients see the time to first token.
                guard let last = state.lastFlush else { return true }
                return now - last >= interval
            }
            if due { try await flush() }
        case .thinking(let text):
            let (first, accumulated) = state.withLock { state -> (Bool, String) in
                let first = !state.thinkingStarted
                state.thinkingStarted = true
                state.thinking += text
                return (first, state.thinking)
            }
            if first {
                try await sink.emit(
                    EventType.reasonThinkingStarted, context: plan.context,
                    data: ["turn_id": .string(plan.turnID), "model": .string(plan.model)])
            }
            try await sink.emit(
                EventType.reasonThinkingDelta, context: plan.context,
                data: ["turn_id": .string(plan.turnID), "delta": .string(text), "accumulated": .string(accumulated)])
        }
    }

    /// Emits whatever text is pending and closes an open thinking block.
    func flush() async throws {
        let (text, accumulated, thinking) = state.withLock { state -> (String, String, String?) in
            let text = state.pendingText
            state.pendingText = ""
            state.lastFlush = ContinuousClock.now
            let thinking = state.thinkingStarted ? state.thinking : nil
            state.thinkingStarted = false
            return (text, state.accumulated, thinking)
        }
        if let thinking {
            try await sink.emit(
                EventType.reasonThinkingCompleted, context: plan.context,
                data: ["turn_id": .string(plan.turnID), "thinking": .string(thinking)])
        }
        guard !text.isEmpty else { return }
        try await sink.emit(
            EventType.outputMessageDelta, context: plan.context,
            data: ["turn_id": .string(plan.turnID), "message_id": .string(messageID), "delta": .string(text),
                   "accumulated": .string(accumulated)])
    }
}
