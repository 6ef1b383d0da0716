import Foundation
import KeelCore

/// Turns the event log into finished spans, one trace per turn:
///
///     invoke_agent {agent}              turn.started → turn.completed | .failed | .cancelled
///     ├── reason                        reason.started → reason.completed (one per iteration)
///     │   ├── thinking                  reason.thinking.started → .completed
///     │   └── chat {model}              llm.generation (start = ts − duration_ms)
///     └── act                           act.started → act.completed
///         └── execute_tool {name}       tool.started → tool.completed (one per tool)
///
/// Feed it every event of every session, each session's events in sequence order (sessions may
/// interleave). Each call returns the spans that ended with that event, children before parents.
/// Spans still open when the turn ends are ended with it (status error `cancelled` when the turn
/// was cancelled). Successful spans keep status `.unset`, as OpenTelemetry advises instrumentations.
///
/// The trace id is the turn id's 16 bytes, unless the turn's `input.message` carried a W3C trace
/// context (`context.trace_id` / `span_id`): then the turn joins that trace under that span.
/// Span ids are the last 8 bytes of the turn id (root) or of the event that started the span.
///
/// Every event is read through its typed payload. One whose data does not decode is reported to
/// `options.decodeFailures` (consumer `trace`) and only what depends on it is skipped: a tool
/// span whose `tool.completed` is unreadable ends with its batch as `incomplete`, a terminal event
/// without readable data still ends its turn, and the rest of the turn is traced as usual.
///
/// The per-session state is in `TraceSessionState.swift`, the per-turn state in
/// `TraceTurnState.swift`, with one handler per event type in `TraceTurnState+Reason.swift`,
/// `+Act.swift` and `+End.swift`.
///
/// Not thread-safe: drive it from one serial consumer.
struct TurnTraceBuilder: Sendable {
    let options: TraceOptions
    private var sessions: [String: TraceSessionState] = [:]
    private var tick: UInt64 = 0

    init(options: TraceOptions = TraceOptions()) {
        self.options = options
    }

    /// Turns that have started and not ended yet.
    var openTurnCount: Int {
        sessions.values.reduce(0) { $0 + ($1.turn == nil ? 0 : 1) }
    }

    /// Sessions the builder keeps state for (queued inputs, an open turn, captured history).
    var trackedSessionCount: Int { sessions.count }

    /// Consumes one event and returns the spans it finished.
    mutating func consume(_ event: Event) -> [SpanRecord] {
        let sessionID = event.sessionID
        var state: TraceSessionState
        // Taken out while it changes, so its arrays are uniquely held and grow in place instead
        // of being copied on every event.
        if let existing = sessions.removeValue(forKey: sessionID) {
            state = existing
        } else {
            guard TraceSessionState.needsState(for: event.type, capture: options.captureContent) else { return [] }
            evictIfFull()
            state = TraceSessionState(sessionID: sessionID)
        }
        tick &+= 1
        var collisions: [MetadataCollision] = []
        let spans = state.consume(event, options: options, tick: tick, collisions: &collisions)
        let disposable = event.type == EventType.sessionIdled && state.isDisposable(capture: options.captureContent)
        sessions[sessionID] = disposable ? nil : state
        if let report = options.onMetadataCollision {
            for collision in collisions { report(collision) }
        }
        return spans
    }

    /// Ends every open turn at `time` with status error `reason` (for shutdown) and returns the spans.
    mutating func finishAll(at time: Date, reason: String = "incomplete") -> [SpanRecord] {
        var spans: [SpanRecord] = []
        var collisions: [MetadataCollision] = []
        for sessionID in sessions.keys.sorted() {
            guard var state = sessions.removeValue(forKey: sessionID) else { continue }
            spans += state.abandonTurn(at: time, reason: reason, options: options, collisions: &collisions)
            sessions[sessionID] = state.isDisposable(capture: options.captureContent) ? nil : state
        }
        if let report = options.onMetadataCollision {
            for collision in collisions { report(collision) }
        }
        return spans
    }

    /// Forgets the least recently active sessions (those with an open turn last) so that a new
    /// one fits; a batch at a time so the scan is amortised.
    private mutating func evictIfFull() {
        let overflow = sessions.count - options.maxSessions + 1
        guard overflow > 0 else { return }
        let batch = max(overflow, options.maxSessions / 10)
        let victims = sessions.sorted { lhs, rhs in
            let left = (lhs.value.turn == nil ? 0 : 1, lhs.value.lastActive)
            let right = (rhs.value.turn == nil ? 0 : 1, rhs.value.lastActive)
            return left < right
        }.prefix(batch)
        for victim in victims { sessions[victim.key] = nil }
    }
}
