import Foundation
import KeelCore

/// What a terminal event reports about the whole turn; each field is nil when the event does not
/// carry it (the root then falls back to what the builder counted itself).
struct TraceTurnTotals: Sendable {
    var iterations: Int?
    var usage: Usage?
    var timeToFirstTokenMS: Int?
    var durationMS: Int?
}

/// The end of a turn: its terminal event, or an abandoned turn, ends every span still open and
/// then the root.
extension TraceTurnState {
    /// `turn.completed`, `turn.failed` or `turn.cancelled`. The event's type alone decides that
    /// and how the turn ended, so one whose data does not decode (reported) still ends the turn;
    /// only the totals it would have carried are missing.
    mutating func end(_ event: Event, options: TraceOptions, collisions: inout [MetadataCollision]) -> [SpanRecord] {
        switch event.type {
        case EventType.turnCompleted:
            let completed = options.payload(of: event, as: TurnCompletedPayload.self)
            return finishTurn(
                at: event.ts, status: .unset, errorType: nil, turnStatus: completed?.status ?? "completed",
                totals: TraceTurnTotals(
                    iterations: completed?.iterations, usage: completed?.usage,
                    timeToFirstTokenMS: completed?.timeToFirstTokenMS, durationMS: completed?.durationMS),
                options: options, collisions: &collisions)
        case EventType.turnCancelled:
            let cancelled = options.payload(of: event, as: TurnCancelledPayload.self)
            return finishTurn(
                at: event.ts, status: .error("cancelled"), errorType: "cancelled", turnStatus: "cancelled",
                totals: TraceTurnTotals(usage: cancelled?.usage), options: options, collisions: &collisions)
        default:
            let failed = options.payload(of: event, as: TurnFailedPayload.self)
            let code = failed?.errorCode ?? "turn_failed"
            return finishTurn(
                at: event.ts, status: .error(code), errorType: code, turnStatus: "failed",
                totals: TraceTurnTotals(iterations: failed?.iterations), options: options, collisions: &collisions)
        }
    }

    /// Ends whatever is still open with `status`, then the root.
    mutating func finishTurn(
        at time: Date, status: SpanRecord.Status, errorType: String?, turnStatus: String, totals: TraceTurnTotals,
        options: TraceOptions, collisions: inout [MetadataCollision]
    ) -> [SpanRecord] {
        var spans = closeTools(at: time, status: status, errorType: errorType, options, &collisions)
        spans += closeAct(at: time, status: status, errorType: errorType, options, &collisions)
        spans += closeReason(at: time, status: status, errorType: errorType, options, &collisions)

        var attributes = TraceAttributeList()
        attributes.set(TraceKey.operationName, string: "invoke_agent")
        attributes.set(TraceKey.openInferenceKind, string: "AGENT")
        attributes.setProvider(provider)
        attributes.set(TraceKey.requestModel, string: requestModel)
        attributes.set(TraceKey.turnID, string: turnID)
        attributes.set(TraceKey.turnIterations, int: totals.iterations ?? iterations)
        attributes.set(TraceKey.turnStatus, string: turnStatus)
        if let usage = totals.usage ?? (sawChatUsage ? chatUsage : nil) {
            attributes.setUsage(usage)
        }
        attributes.setTimeToFirstToken(milliseconds: totals.timeToFirstTokenMS)
        attributes.set(TraceKey.durationMS, int: totals.durationMS)
        attributes.set(TraceKey.errorType, string: errorType)
        if options.captureContent {
            if let inputText {
                attributes.set(TraceKey.inputValue, string: inputText)
                attributes.set(TraceKey.inputMimeType, string: "text/plain")
            }
            if let outputText {
                attributes.set(TraceKey.outputValue, string: outputText)
                attributes.set(TraceKey.outputMimeType, string: "text/plain")
            }
        }
        // Fixes the root name (and agent attributes) before the root is built.
        _ = commonAttributes(options, &collisions)
        var span = root
        span.name = rootName
        span.attributes.merge(attributes)
        span.attributes.merge(agentAttributes(options))
        spans.append(finish(span, at: time, status: status, options, &collisions))
        return spans
    }
}
