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
        let provider = plan.endpoint.providerType.rawValue
        try await sink.emit(
            ReasonStartedPayload(
                agentID: plan.agentID, iteration: iteration,
                metadata: .init(
                    model: plan.model, modelID: plan.modelReference, providerID: plan.providerID, provider: provider)),
            context: context)
        try await sink.emit(
            OutputMessageStartedPayload(turnID: plan.turnID, messageID: messageID, model: plan.model, iteration: iteration),
            context: context)

        let request = LLMRequest(
            model: plan.model, systemPrompt: plan.systemPrompt, messages: messages,
            tools: plan.offeredTools, parallelToolCalls: plan.parallelToolCalls,
            reasoningEffort: plan.reasoningEffort)
        let batcher = DeltaBatcher(
            plan: plan, messageID: messageID, sink: sink, interval: plan.deltaBatchInterval)
        let started = ContinuousClock.now

        let response: LLMResponse
        do {
            response = try await batcher.flushingWhenDue {
                try await driver.generate(request, endpoint: plan.endpoint) { delta in
                    do {
                        try await batcher.add(delta)
                    } catch {
                        throw SinkFailure(underlying: error)
                    }
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
                LLMGenerationPayload(
                    tools: nil, output: .init(text: "", toolCalls: []),
                    metadata: .init(
                        model: plan.model, provider: provider, durationMS: milliseconds(since: started), success: false,
                        error: code)),
                context: context)
            try await sink.emit(
                ReasonCompletedPayload(
                    success: false, textPreview: nil, hasToolCalls: false, toolCallCount: 0, error: code,
                    durationMS: milliseconds(since: started), usage: nil),
                context: context)
            return Reasoning(message: Message(id: messageID, role: .agent, content: []), response: nil, errorCode: code)
        }
        try await batcher.flush()

        var content: [ContentPart] = response.text.isEmpty ? [] : [.text(response.text)]
        content += response.toolCalls.map(ContentPart.toolCall)
        let message = Message(id: messageID, role: .agent, content: content)
        let durationMS = milliseconds(since: started)
        let generation = LLMGenerationPayload.Metadata(
            model: response.model ?? plan.model, provider: provider, usage: response.usage, durationMS: durationMS,
            success: true, finishReasons: response.finishReason.map { [$0] } ?? [],
            responseID: .some(response.responseID), timeToFirstTokenMS: response.timeToFirstToken.map { Int($0 * 1000) })
        try await sink.emit(
            LLMGenerationPayload(
                tools: plan.tools.map(\.definition.name),
                output: .init(text: response.text, toolCalls: response.toolCalls), metadata: generation),
            context: context)
        try await sink.emit(
            OutputMessageCompletedPayload(message: message, model: response.model ?? plan.model, usage: response.usage),
            context: context)
        try await sink.emit(
            ReasonCompletedPayload(
                success: true, textPreview: String(response.text.prefix(200)),
                hasToolCalls: !response.toolCalls.isEmpty, toolCallCount: response.toolCalls.count, error: nil,
                durationMS: durationMS, usage: response.usage),
            context: context)
        return Reasoning(message: message, response: response, errorCode: "")
    }
}

/// Wraps an event-sink error raised while streaming, so it is not mistaken for a model failure.
struct SinkFailure: Error {
    var underlying: any Error
}
