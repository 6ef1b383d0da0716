import Foundation
import KeelCore

/// The tool side of a turn: one `act` span per batch of tool calls, one `execute_tool {name}`
/// child per call.
extension TraceTurnState {
    /// `act.started`: opens the batch's `act` span (ending one left open as incomplete) and
    /// remembers the calls' names for tool results whose start was never written.
    mutating func actStarted(
        _ started: ActStartedPayload, event: Event, options: TraceOptions, collisions: inout [MetadataCollision]
    ) -> [SpanRecord] {
        let spans = closeAct(at: event.ts, status: .error("incomplete"), errorType: "incomplete", options, &collisions)
        for call in started.toolCalls { toolNames[call.id] = call.name }
        var span = child(of: root, eventID: event.id, name: "act", kind: .internal, start: event.ts)
        span.attributes.set(TraceKey.operationName, string: "act")
        span.attributes.set(TraceKey.openInferenceKind, string: "CHAIN")
        span.attributes.set("act.tool_call_count", int: started.toolCalls.count)
        act = span
        return spans
    }

    /// `tool.started`: opens the call's `execute_tool` span, with its arguments when content is
    /// captured.
    mutating func toolStarted(_ started: ToolStartedPayload, event: Event, options: TraceOptions) {
        let call = started.toolCall
        guard !tools.contains(where: { $0.callID == call.id }) else { return }
        var span = toolSpan(eventID: event.id, callID: call.id, name: call.name, start: event.ts)
        if options.captureContent {
            span.attributes.set(TraceKey.toolArguments, string: call.arguments.jsonString)
        }
        tools.append((call.id, span))
    }

    /// `tool.completed`: ends the call's span with its outcome (and result, with capture).
    mutating func toolCompleted(
        _ completed: ToolCompletedPayload, event: Event, options: TraceOptions, collisions: inout [MetadataCollision]
    ) -> [SpanRecord] {
        let callID = completed.toolCallID
        var span: TraceOpenSpan
        if let index = tools.firstIndex(where: { $0.callID == callID }) {
            span = tools.remove(at: index).span
        } else {
            // Never started (e.g. skipped at the iteration cap): a zero-length span.
            span = toolSpan(eventID: event.id, callID: callID, name: completed.toolName, start: event.ts)
        }
        span.attributes.set(TraceKey.toolSuccess, .bool(completed.success))
        span.attributes.set(TraceKey.toolStatus, string: completed.status)
        span.attributes.set(TraceKey.durationMS, int: completed.durationMS)
        var status = SpanRecord.Status.unset
        if !completed.success {
            // The error text may quote arguments, so only the status class goes on the span.
            span.attributes.set(TraceKey.errorType, string: completed.status)
            status = .error("tool \(completed.status)")
        }
        if options.captureContent {
            let result = TraceContent.toolResult(completed.result, error: completed.error)
            span.attributes.set(TraceKey.toolResult, string: result.jsonString)
        }
        var spans = [finish(span, at: event.ts, status: status, options, &collisions)]
        var client = clientWait
        spans += settle(&client, callID: callID, at: event.ts, options, &collisions)
        clientWait = client
        // A rejection or timeout of a held call is its result too.
        var approval = approvalWait
        spans += settle(&approval, callID: callID, at: event.ts, options, &collisions)
        approvalWait = approval
        return spans
    }

    /// The turn waits for its client (`tool.call_requested`, `question.requested`) or a person
    /// (`tool.approval_requested`): a `wait_for_client` or `wait_for_approval` span, a child of the
    /// act span, lasts until the last awaited call is settled. Requests of one step share a span.
    func openWait(_ open: OpenWait?, _ name: String, callIDs: [String], event: Event) -> OpenWait {
        var wait = open ?? OpenWait(
            span: child(of: act ?? root, eventID: event.id, name: name, kind: .internal, start: event.ts), pending: [])
        wait.pending.formUnion(callIDs)
        wait.span.attributes.set(TraceKey.operationName, string: name)
        wait.span.attributes.set(TraceKey.openInferenceKind, string: "CHAIN")
        wait.span.attributes.set("wait.tool_call_count", int: wait.pending.count)
        return wait
    }

    /// Marks `callID` settled; the wait's span ends with the last one.
    mutating func settle(
        _ wait: inout OpenWait?, callID: String, at time: Date, _ options: TraceOptions,
        _ collisions: inout [MetadataCollision]
    ) -> [SpanRecord] {
        guard var open = wait, open.pending.remove(callID) != nil else { return [] }
        guard open.pending.isEmpty else {
            wait = open
            return []
        }
        wait = nil
        open.span.attributes.set(
            TraceKey.durationMS, int: max(0, Int((time.timeIntervalSince(open.span.start) * 1000).rounded())))
        return [finish(open.span, at: time, status: .unset, options, &collisions)]
    }

    /// `act.completed`: ends the batch's `act` span (and any tool span still open, as incomplete).
    mutating func actCompleted(
        _ completed: ActCompletedPayload, event: Event, options: TraceOptions, collisions: inout [MetadataCollision]
    ) -> [SpanRecord] {
        guard var span = act else { return [] }
        var spans = closeTools(at: event.ts, status: .error("incomplete"), errorType: "incomplete", options, &collisions)
        span.attributes.set("act.success_count", int: completed.successCount)
        span.attributes.set("act.error_count", int: completed.errorCount)
        span.attributes.set(TraceKey.durationMS, int: completed.durationMS)
        act = nil
        spans.append(finish(span, at: event.ts, status: .unset, options, &collisions))
        return spans
    }
}

/// A wait span and the calls it still waits on.
struct OpenWait: Sendable {
    var span: TraceOpenSpan
    var pending: Set<String>
}
