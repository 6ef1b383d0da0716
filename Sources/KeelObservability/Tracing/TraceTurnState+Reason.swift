import Foundation
import KeelCore

/// The model-call side of a turn: `reason` spans (one per iteration), their `thinking` and
/// `chat {model}` children, and the answer text for the root.
extension TraceTurnState {
    /// `reason.started`: opens the iteration's `reason` span (ending one left open as incomplete).
    mutating func reasonStarted(
        _ started: ReasonStartedPayload, event: Event, options: TraceOptions, collisions: inout [MetadataCollision]
    ) -> [SpanRecord] {
        let spans = closeReason(at: event.ts, status: .error("incomplete"), errorType: "incomplete", options, &collisions)
        if agentID == nil { agentID = started.agentID }
        reasonModel = started.metadata.model
        reasonProvider = started.metadata.provider
        if provider == nil { provider = reasonProvider }
        if requestModel == nil { requestModel = reasonModel }
        iterations = started.iteration
        thinkingText = nil
        var span = child(of: root, eventID: event.id, name: "reason", kind: .internal, start: event.ts)
        span.attributes.set(TraceKey.operationName, string: "reason")
        span.attributes.set(TraceKey.openInferenceKind, string: "CHAIN")
        span.attributes.setProvider(reasonProvider)
        span.attributes.set(TraceKey.requestModel, string: reasonModel)
        span.attributes.set(TraceKey.reasonIteration, int: iterations)
        reason = span
        return spans
    }

    /// `reason.thinking.started`: opens `thinking` under the iteration's `reason`.
    mutating func thinkingStarted(_ started: ReasonThinkingStartedPayload, event: Event) {
        guard thinking == nil else { return }
        var span = child(of: reason ?? root, eventID: event.id, name: "thinking", kind: .internal, start: event.ts)
        span.attributes.set(TraceKey.operationName, string: "thinking")
        span.attributes.set(TraceKey.openInferenceKind, string: "CHAIN")
        span.attributes.setProvider(reasonProvider)
        span.attributes.set(TraceKey.requestModel, string: started.model)
        thinking = span
    }

    /// `reason.thinking.completed`: ends `thinking`, with its text when content is captured.
    mutating func thinkingCompleted(
        _ completed: ReasonThinkingCompletedPayload, event: Event, options: TraceOptions,
        collisions: inout [MetadataCollision]
    ) -> [SpanRecord] {
        guard var span = thinking else { return [] }
        thinking = nil
        if options.captureContent {
            thinkingText = completed.thinking
            span.attributes.set(TraceKey.outputMessages, string: TraceContent.thinkingOutput(completed.thinking))
            span.attributes.set(TraceKey.outputValue, string: completed.thinking)
            span.attributes.set(TraceKey.outputMimeType, string: "text/plain")
        }
        return [finish(span, at: event.ts, status: .unset, options, &collisions)]
    }

    /// `llm.generation`: the whole `chat {model}` span at once, starting `duration_ms` before the
    /// event (the model call has finished when it is written).
    mutating func chatSpan(
        _ generation: LLMGenerationPayload, event: Event, options: TraceOptions, history: [Message],
        collisions: inout [MetadataCollision]
    ) -> SpanRecord {
        let metadata = generation.metadata
        let parent = reason ?? root
        let start = event.ts.addingTimeInterval(-Double(metadata.durationMS) / 1000)
        let model = reasonModel ?? metadata.model
        var span = child(of: parent, eventID: event.id, name: "chat \(model)", kind: .client, start: start)
        var attributes = TraceAttributeList()
        attributes.set(TraceKey.operationName, string: "chat")
        attributes.set(TraceKey.openInferenceKind, string: "LLM")
        attributes.setProvider(metadata.provider)
        attributes.set(TraceKey.requestModel, string: model)
        attributes.set(TraceKey.responseModel, string: metadata.model)
        attributes.set(TraceKey.responseID, string: metadata.responseID ?? nil)
        let finishReasons = metadata.finishReasons ?? []
        if !finishReasons.isEmpty { attributes.set(TraceKey.finishReasons, .stringArray(finishReasons)) }
        if let usage = metadata.usage {
            attributes.setUsage(usage)
            chatUsage = chatUsage + usage
            sawChatUsage = true
        }
        if metadata.success {
            attributes.set(TraceKey.outputType, string: generation.output.toolCalls.isEmpty ? "text" : "tool_calls")
        }
        attributes.setTimeToFirstToken(milliseconds: metadata.timeToFirstTokenMS)
        attributes.set(TraceKey.durationMS, int: metadata.durationMS)
        var status = SpanRecord.Status.unset
        if !metadata.success {
            let code = metadata.error ?? "llm_error"
            attributes.set(TraceKey.errorType, string: code)
            status = .error(code)
        }
        if options.captureContent {
            // What the model was sent: the conversation so far, without inputs queued after this
            // turn began (the loop read its history when the turn started).
            let sent = history.filter { !($0.role == .user && ($0.sequence ?? 0) > startSequence) }
            attributes.set(TraceKey.inputMessages, string: TraceContent.inputMessages(sent))
            if metadata.success {
                attributes.set(
                    TraceKey.outputMessages,
                    string: TraceContent.outputMessages(
                        output: generation.output, thinking: thinkingText, finishReasons: finishReasons))
            }
        }
        span.attributes.merge(attributes)
        return finish(span, at: event.ts, status: status, options, &collisions)
    }

    /// `reason.completed`: ends the iteration's `reason` (and a `thinking` left open).
    mutating func reasonCompleted(
        _ completed: ReasonCompletedPayload, event: Event, options: TraceOptions, collisions: inout [MetadataCollision]
    ) -> [SpanRecord] {
        guard var span = reason else { return [] }
        var spans = closeThinking(at: event.ts, options, &collisions)
        if let usage = completed.usage { span.attributes.setUsage(usage) }
        span.attributes.set(TraceKey.durationMS, int: completed.durationMS)
        var status = SpanRecord.Status.unset
        if !completed.success {
            let code = completed.error ?? "llm_error"
            span.attributes.set(TraceKey.errorType, string: code)
            status = .error(code)
        }
        reason = nil
        spans.append(finish(span, at: event.ts, status: status, options, &collisions))
        return spans
    }

    /// `output.message.completed` (with capture only): the latest answer becomes the root's
    /// `output.value`.
    mutating func outputMessageCompleted(_ completed: OutputMessageCompletedPayload, options: TraceOptions) {
        let text = completed.message.text
        if options.captureContent, !text.isEmpty { outputText = text }
    }
}
