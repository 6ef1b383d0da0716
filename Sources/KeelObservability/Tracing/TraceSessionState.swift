import Foundation
import KeelCore

/// An `input.message` waiting for its turn: what the turn's spans need from it.
struct TracePendingInput: Sendable {
    var messageID: String
    /// Valid keys, scalar values, sorted by key.
    var metadata: [(key: String, value: AttributeValue)]
    var traceID: [UInt8]?
    var parentSpanID: [UInt8]?
}

/// What `TurnTraceBuilder` keeps per session: inputs waiting for their turn, the open turn, and
/// (with content capture) the conversation so far.
struct TraceSessionState: Sendable {
    let sessionID: String
    var lastActive: UInt64 = 0
    var pending: [TracePendingInput] = []
    var turn: TraceTurnState?
    /// The conversation so far, kept only with content capture.
    var history: [Message] = []

    init(sessionID: String) {
        self.sessionID = sessionID
    }

    static func needsState(for type: EventType, capture: Bool) -> Bool {
        switch type {
        case EventType.inputMessage, EventType.turnStarted: true
        case EventType.outputMessageCompleted, EventType.toolCompleted: capture
        default: false
        }
    }

    /// After `session.idled`: nothing left worth keeping.
    func isDisposable(capture: Bool) -> Bool {
        turn == nil && pending.isEmpty && (!capture || history.isEmpty)
    }

    mutating func consume(
        _ event: Event, options: TraceOptions, tick: UInt64, collisions: inout [MetadataCollision]
    ) -> [SpanRecord] {
        lastActive = tick
        switch event.type {
        case EventType.inputMessage:
            recordInput(event, options: options)
            return []
        case EventType.turnStarted:
            return startTurn(event, options: options, collisions: &collisions)
        case EventType.sessionIdled:
            // Idle means no turn runs: one still open lost its terminal event (storage failure).
            return abandonTurn(at: event.ts, reason: "incomplete", options: options, collisions: &collisions)
        case EventType.outputMessageCompleted:
            // Only its text is traced (the root's `output.value`), and only with capture.
            guard options.captureContent,
                let completed = options.payload(of: event, as: OutputMessageCompletedPayload.self)
            else { return [] }
            remember(event, options: options)
            return inOpenTurn(event, options: options) { turn in
                turn.outputMessageCompleted(completed, options: options)
                return []
            }
        case EventType.toolCompleted:
            // Decoded before the history needs it, so an unreadable result is reported once.
            guard options.captureContent || isForOpenTurn(event, options: options),
                let completed = options.payload(of: event, as: ToolCompletedPayload.self)
            else { return [] }
            remember(event, options: options)
            return inOpenTurn(event, options: options) { turn in
                turn.toolCompleted(completed, event: event, options: options, collisions: &collisions)
            }
        default:
            guard var current = turn, current.turnID == turnID(of: event, options: options) else { return [] }
            turn = nil  // keep `current` uniquely referenced while it changes
            if EventType.terminal.contains(event.type) {
                return current.end(event, options: options, collisions: &collisions)
            }
            let spans = current.handle(event, options: options, history: history, collisions: &collisions)
            turn = current
            return spans
        }
    }

    /// Runs `body` on the open turn when `event` belongs to it; the turn is taken out of `self`
    /// meanwhile so it stays uniquely referenced while it changes.
    private mutating func inOpenTurn(
        _ event: Event, options: TraceOptions, _ body: (inout TraceTurnState) -> [SpanRecord]
    ) -> [SpanRecord] {
        guard var current = turn, current.turnID == turnID(of: event, options: options) else { return [] }
        turn = nil
        let spans = body(&current)
        turn = current
        return spans
    }

    private func isForOpenTurn(_ event: Event, options: TraceOptions) -> Bool {
        guard let turn else { return false }
        return turn.turnID == turnID(of: event, options: options)
    }

    /// The runtime puts the turn id in every turn event's context; events without one (older
    /// logs) are matched by the turn id their payload carries, where their type has one.
    private func turnID(of event: Event, options: TraceOptions) -> String? {
        if let turnID = event.context.turnID { return turnID }
        switch event.type {
        case EventType.reasonThinkingStarted:
            return options.payload(of: event, as: ReasonThinkingStartedPayload.self)?.turnID
        case EventType.reasonThinkingCompleted:
            return options.payload(of: event, as: ReasonThinkingCompletedPayload.self)?.turnID
        case EventType.turnCompleted: return options.payload(of: event, as: TurnCompletedPayload.self)?.turnID
        case EventType.turnFailed: return options.payload(of: event, as: TurnFailedPayload.self)?.turnID
        case EventType.turnCancelled: return options.payload(of: event, as: TurnCancelledPayload.self)?.turnID
        default: return nil
        }
    }

    /// Adds the message the event carries to the conversation (with capture only). Callers have
    /// decoded the event's payload already, so the projection reads data known to decode.
    private mutating func remember(_ event: Event, options: TraceOptions) {
        guard options.captureContent else { return }
        let message: Message?
        do {
            message = try MessageProjection.message(from: event)
        } catch {
            options.decodeFailures.report(error, consumer: TraceOptions.decodeFailureConsumer)
            return
        }
        if let message { TraceContent.append(message, to: &history, limit: options.maxHistoryMessages) }
    }

    private mutating func recordInput(_ event: Event, options: TraceOptions) {
        // Unreadable data costs the request metadata and the history entry; the message id and
        // the W3C trace context come from the event's context, so the turn still joins its trace.
        let input = options.payload(of: event, as: InputMessagePayload.self)
        if input != nil { remember(event, options: options) }
        // An input.message already bound to a turn (the cancel notice) starts no turn of its own.
        guard event.context.turnID == nil else { return }
        guard let messageID = input?.message.id ?? event.context.inputMessageID else { return }
        var metadata: [(key: String, value: AttributeValue)] = []
        for (key, value) in (input?.message.metadata?.objectValue ?? [:]).sorted(by: { $0.key < $1.key }) {
            guard TraceIDs.isValidMetadataKey(key), let attribute = TraceIDs.scalarAttribute(value) else { continue }
            metadata.append((key, attribute))
        }
        let traceID = TraceIDs.w3cID(event.context.traceID, length: 32)
        let parent = traceID == nil ? nil : TraceIDs.w3cID(event.context.spanID, length: 16)
        pending.append(TracePendingInput(messageID: messageID, metadata: metadata, traceID: traceID, parentSpanID: parent))
        if pending.count > options.maxPendingInputs { pending.removeFirst(pending.count - options.maxPendingInputs) }
    }

    private mutating func startTurn(
        _ event: Event, options: TraceOptions, collisions: inout [MetadataCollision]
    ) -> [SpanRecord] {
        // Unreadable data costs the input text and the agent name; the ids are in the context.
        let started = options.payload(of: event, as: TurnStartedPayload.self)
        if let started, let agentID = started.agentID, let name = started.agentName {
            options.onAgentNamed?(agentID, name)
        }
        guard let turnID = event.context.turnID ?? started?.turnID else { return [] }
        // One turn runs per session: an open one never got its terminal event.
        let spans = abandonTurn(at: event.ts, reason: "abandoned", options: options, collisions: &collisions)
        let inputID = event.context.inputMessageID ?? started?.inputMessageID
        var input: TracePendingInput?
        if let index = pending.firstIndex(where: { $0.messageID == inputID }) {
            input = pending[index]
            // Inputs queued before this one were dropped (cancel clears the queue).
            pending.removeFirst(index + 1)
        }
        let traceID = input?.traceID ?? TraceIDs.bytes(ofPublicID: turnID, count: 16)
        let root = TraceOpenSpan(
            spanID: TraceIDs.bytes(ofPublicID: turnID, count: 8), parentID: input?.traceID == nil ? nil : input?.parentSpanID,
            name: "invoke_agent", kind: .internal, start: event.ts)
        turn = TraceTurnState(
            turnID: turnID, sessionID: sessionID, traceID: traceID, startSequence: event.sequence, root: root,
            userMetadata: input?.metadata ?? [], inputText: options.captureContent ? started?.inputContent : nil)
        return spans
    }

    mutating func abandonTurn(
        at time: Date, reason: String, options: TraceOptions, collisions: inout [MetadataCollision]
    ) -> [SpanRecord] {
        guard var current = turn else { return [] }
        turn = nil
        return current.finishTurn(
            at: time, status: .error(reason), errorType: reason, turnStatus: reason, totals: TraceTurnTotals(),
            options: options, collisions: &collisions)
    }
}
