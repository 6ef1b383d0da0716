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
        if let existing = sessions[sessionID] {
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
            guard var state = sessions[sessionID] else { continue }
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

// MARK: - Per-session state

/// An `input.message` waiting for its turn: what the turn's spans need from it.
struct TracePendingInput: Sendable {
    var messageID: String
    /// Valid keys, scalar values, sorted by key.
    var metadata: [(key: String, value: AttributeValue)]
    var traceID: [UInt8]?
    var parentSpanID: [UInt8]?
}

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
        if options.captureContent, MessageProjection.sourceTypes.contains(event.type),
            let message = MessageProjection.message(from: event)
        {
            TraceContent.append(message, to: &history, limit: options.maxHistoryMessages)
        }
        switch event.type {
        case EventType.inputMessage:
            recordInput(event, options: options)
            return []
        case EventType.turnStarted:
            return startTurn(event, options: options, collisions: &collisions)
        case EventType.sessionIdled:
            // Idle means no turn runs: one still open lost its terminal event (storage failure).
            return abandonTurn(at: event.ts, reason: "incomplete", options: options, collisions: &collisions)
        default:
            let turnID = event.context.turnID ?? event.data["turn_id"]?.stringValue
            guard var current = turn, current.turnID == turnID else { return [] }
            turn = nil  // keep `current` uniquely referenced while it changes
            if EventType.terminal.contains(event.type) {
                return current.end(event, options: options, collisions: &collisions)
            }
            let spans = current.handle(event, options: options, history: history, collisions: &collisions)
            turn = current
            return spans
        }
    }

    private mutating func recordInput(_ event: Event, options: TraceOptions) {
        // An input.message already bound to a turn (the cancel notice) starts no turn of its own.
        guard event.context.turnID == nil else { return }
        let message = event.data["message"]
        guard let messageID = message?["id"]?.stringValue ?? event.context.inputMessageID else { return }
        var metadata: [(key: String, value: AttributeValue)] = []
        for (key, value) in (message?["metadata"]?.objectValue ?? [:]).sorted(by: { $0.key < $1.key }) {
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
        guard let turnID = event.context.turnID ?? event.data["turn_id"]?.stringValue else { return [] }
        // One turn runs per session: an open one never got its terminal event.
        let spans = abandonTurn(at: event.ts, reason: "abandoned", options: options, collisions: &collisions)
        let inputID = event.context.inputMessageID ?? event.data["input_message_id"]?.stringValue
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
            userMetadata: input?.metadata ?? [],
            inputText: options.captureContent ? event.data["input_content"]?.stringValue : nil)
        return spans
    }

    mutating func abandonTurn(
        at time: Date, reason: String, options: TraceOptions, collisions: inout [MetadataCollision]
    ) -> [SpanRecord] {
        guard var current = turn else { return [] }
        turn = nil
        return current.finishTurn(
            at: time, status: .error(reason), errorType: reason, turnStatus: reason, data: [:], options: options,
            collisions: &collisions)
    }
}

// MARK: - Per-turn state

struct TraceOpenSpan: Sendable {
    var spanID: [UInt8]
    var parentID: [UInt8]?
    var name: String
    var kind: SpanRecord.Kind
    var start: Date
    /// Children may not outlast their parent, even if event clocks disagree.
    var latestChildEnd: Date
    var attributes = TraceAttributeList()

    init(spanID: [UInt8], parentID: [UInt8]?, name: String, kind: SpanRecord.Kind, start: Date) {
        self.spanID = spanID
        self.parentID = parentID
        self.name = name
        self.kind = kind
        self.start = start
        self.latestChildEnd = start
    }
}

struct TraceTurnState: Sendable {
    let turnID: String
    let sessionID: String
    let traceID: [UInt8]
    let startSequence: Int
    var root: TraceOpenSpan
    var userMetadata: [(key: String, value: AttributeValue)]
    var inputText: String?
    var outputText: String?

    var agentID: String?
    var provider: String?
    var requestModel: String?
    var iterations = 0
    var chatUsage = Usage()
    var sawChatUsage = false

    var reason: TraceOpenSpan?
    var reasonModel: String?
    var reasonProvider: String?
    var thinking: TraceOpenSpan?
    var thinkingText: String?
    var act: TraceOpenSpan?
    var toolNames: [String: String] = [:]
    var tools: [(callID: String, span: TraceOpenSpan)] = []

    /// Attributes shared by every span of the trace, fixed at the first span that ends.
    var common: TraceAttributeList?
    var rootName = "invoke_agent"
    var agentName: String?

    init(
        turnID: String, sessionID: String, traceID: [UInt8], startSequence: Int, root: TraceOpenSpan,
        userMetadata: [(key: String, value: AttributeValue)], inputText: String?
    ) {
        self.turnID = turnID
        self.sessionID = sessionID
        self.traceID = traceID
        self.startSequence = startSequence
        self.root = root
        self.userMetadata = userMetadata
        self.inputText = inputText
    }

    // MARK: Events inside the turn

    mutating func handle(
        _ event: Event, options: TraceOptions, history: [Message], collisions: inout [MetadataCollision]
    ) -> [SpanRecord] {
        let data = event.data
        let capture = options.captureContent
        var spans: [SpanRecord] = []
        switch event.type {
        case EventType.reasonStarted:
            spans += closeReason(at: event.ts, status: .error("incomplete"), errorType: "incomplete", options, &collisions)
            let metadata = data["metadata"]
            if agentID == nil { agentID = data["agent_id"]?.stringValue }
            reasonModel = metadata?["model"]?.stringValue
            reasonProvider = metadata?["provider"]?.stringValue
            if provider == nil { provider = reasonProvider }
            if requestModel == nil { requestModel = reasonModel }
            iterations = data["iteration"]?.intValue ?? iterations + 1
            thinkingText = nil
            var span = child(of: root, eventID: event.id, name: "reason", kind: .internal, start: event.ts)
            span.attributes.set(TraceKey.operationName, string: "reason")
            span.attributes.set(TraceKey.openInferenceKind, string: "CHAIN")
            span.attributes.setProvider(reasonProvider)
            span.attributes.set(TraceKey.requestModel, string: reasonModel)
            span.attributes.set(TraceKey.reasonIteration, int: iterations)
            reason = span

        case EventType.reasonThinkingStarted:
            guard thinking == nil else { break }
            var span = child(of: reason ?? root, eventID: event.id, name: "thinking", kind: .internal, start: event.ts)
            span.attributes.set(TraceKey.operationName, string: "thinking")
            span.attributes.set(TraceKey.openInferenceKind, string: "CHAIN")
            span.attributes.setProvider(reasonProvider)
            span.attributes.set(TraceKey.requestModel, string: data["model"]?.stringValue ?? reasonModel)
            thinking = span

        case EventType.reasonThinkingCompleted:
            guard var span = thinking else { break }
            thinking = nil
            if capture, let text = data["thinking"]?.stringValue {
                thinkingText = text
                span.attributes.set(TraceKey.outputMessages, string: TraceContent.thinkingOutput(text))
                span.attributes.set(TraceKey.outputValue, string: text)
                span.attributes.set(TraceKey.outputMimeType, string: "text/plain")
            }
            spans.append(finish(span, at: event.ts, status: .unset, options, &collisions))

        case EventType.llmGeneration:
            spans.append(chatSpan(event, options: options, history: history, collisions: &collisions))

        case EventType.reasonCompleted:
            guard var span = reason else { break }
            spans += closeThinking(at: event.ts, options, &collisions)
            let success = data["success"]?.boolValue ?? true
            if let usage = TraceIDs.usage(data["usage"]) { span.attributes.setUsage(usage) }
            span.attributes.set(TraceKey.durationMS, int: data["duration_ms"]?.intValue)
            var status = SpanRecord.Status.unset
            if !success {
                let code = data["error"]?.stringValue ?? "llm_error"
                span.attributes.set(TraceKey.errorType, string: code)
                status = .error(code)
            }
            reason = nil
            spans.append(finish(span, at: event.ts, status: status, options, &collisions))

        case EventType.actStarted:
            spans += closeAct(at: event.ts, status: .error("incomplete"), errorType: "incomplete", options, &collisions)
            let calls = data["tool_calls"]?.arrayValue ?? []
            for call in calls {
                if let id = call["id"]?.stringValue, let name = call["name"]?.stringValue { toolNames[id] = name }
            }
            var span = child(of: root, eventID: event.id, name: "act", kind: .internal, start: event.ts)
            span.attributes.set(TraceKey.operationName, string: "act")
            span.attributes.set(TraceKey.openInferenceKind, string: "CHAIN")
            span.attributes.set("act.tool_call_count", int: calls.count)
            act = span

        case EventType.toolStarted:
            let call = data["tool_call"]
            guard let callID = call?["id"]?.stringValue, !tools.contains(where: { $0.callID == callID }) else { break }
            let name = call?["name"]?.stringValue ?? toolNames[callID] ?? "unknown"
            var span = toolSpan(eventID: event.id, callID: callID, name: name, start: event.ts)
            if capture, let arguments = call?["arguments"] {
                span.attributes.set(TraceKey.toolArguments, string: arguments.jsonString)
            }
            tools.append((callID, span))

        case EventType.toolCompleted:
            guard let callID = data["tool_call_id"]?.stringValue else { break }
            var span: TraceOpenSpan
            if let index = tools.firstIndex(where: { $0.callID == callID }) {
                span = tools.remove(at: index).span
            } else {
                // Never started (e.g. skipped at the iteration cap): a zero-length span.
                let name = data["tool_name"]?.stringValue ?? toolNames[callID] ?? "unknown"
                span = toolSpan(eventID: event.id, callID: callID, name: name, start: event.ts)
            }
            let success = data["success"]?.boolValue ?? (data["error"] == nil)
            let toolStatus = data["status"]?.stringValue ?? (success ? "success" : "error")
            span.attributes.set(TraceKey.toolSuccess, .bool(success))
            span.attributes.set(TraceKey.toolStatus, string: toolStatus)
            span.attributes.set(TraceKey.durationMS, int: data["duration_ms"]?.intValue)
            var status = SpanRecord.Status.unset
            if !success {
                // The error text may quote arguments, so only the status class goes on the span.
                span.attributes.set(TraceKey.errorType, string: toolStatus)
                status = .error("tool \(toolStatus)")
            }
            if capture {
                let result = TraceContent.toolResult(data["result"], error: data["error"]?.stringValue)
                span.attributes.set(TraceKey.toolResult, string: result.jsonString)
            }
            spans.append(finish(span, at: event.ts, status: status, options, &collisions))

        case EventType.actCompleted:
            guard var span = act else { break }
            spans += closeTools(at: event.ts, status: .error("incomplete"), errorType: "incomplete", options, &collisions)
            span.attributes.set("act.success_count", int: data["success_count"]?.intValue)
            span.attributes.set("act.error_count", int: data["error_count"]?.intValue)
            span.attributes.set(TraceKey.durationMS, int: data["duration_ms"]?.intValue)
            act = nil
            spans.append(finish(span, at: event.ts, status: .unset, options, &collisions))

        case EventType.outputMessageCompleted:
            if capture, let text = data["message"].flatMap({ try? $0.decode(Message.self) })?.text, !text.isEmpty {
                outputText = text
            }

        default:
            break
        }
        return spans
    }

    private mutating func chatSpan(
        _ event: Event, options: TraceOptions, history: [Message], collisions: inout [MetadataCollision]
    ) -> SpanRecord {
        let metadata = event.data["metadata"]
        let duration = metadata?["duration_ms"]?.intValue
        let parent = reason ?? root
        let start = duration.map { event.ts.addingTimeInterval(-Double($0) / 1000) } ?? event.ts
        let model = reasonModel ?? metadata?["model"]?.stringValue
        var span = child(
            of: parent, eventID: event.id, name: model.map { "chat \($0)" } ?? "chat", kind: .client, start: start)
        var attributes = TraceAttributeList()
        attributes.set(TraceKey.operationName, string: "chat")
        attributes.set(TraceKey.openInferenceKind, string: "LLM")
        attributes.setProvider(metadata?["provider"]?.stringValue ?? reasonProvider)
        attributes.set(TraceKey.requestModel, string: model)
        attributes.set(TraceKey.responseModel, string: metadata?["model"]?.stringValue)
        attributes.set(TraceKey.responseID, string: metadata?["response_id"]?.stringValue)
        let finishReasons = (metadata?["finish_reasons"]?.arrayValue ?? []).compactMap(\.stringValue)
        if !finishReasons.isEmpty { attributes.set(TraceKey.finishReasons, .stringArray(finishReasons)) }
        if let usage = TraceIDs.usage(metadata?["usage"]) {
            attributes.setUsage(usage)
            chatUsage = chatUsage + usage
            sawChatUsage = true
        }
        let success = metadata?["success"]?.boolValue ?? true
        let output = event.data["output"]
        if success {
            let hasToolCalls = !(output?["tool_calls"]?.arrayValue ?? []).isEmpty
            attributes.set(TraceKey.outputType, string: hasToolCalls ? "tool_calls" : "text")
        }
        attributes.setTimeToFirstToken(milliseconds: metadata?["time_to_first_token_ms"]?.intValue)
        attributes.set(TraceKey.durationMS, int: duration)
        var status = SpanRecord.Status.unset
        if !success {
            let code = metadata?["error"]?.stringValue ?? "llm_error"
            attributes.set(TraceKey.errorType, string: code)
            status = .error(code)
        }
        if options.captureContent {
            // What the model was sent: the conversation so far, without inputs queued after this
            // turn began (the loop read its history when the turn started).
            let sent = history.filter { !($0.role == .user && ($0.sequence ?? 0) > startSequence) }
            attributes.set(TraceKey.inputMessages, string: TraceContent.inputMessages(sent))
            if success {
                attributes.set(
                    TraceKey.outputMessages,
                    string: TraceContent.outputMessages(output: output, thinking: thinkingText, finishReasons: finishReasons))
            }
        }
        span.attributes.merge(attributes)
        return finish(span, at: event.ts, status: status, options, &collisions)
    }

    // MARK: The end of the turn

    mutating func end(_ event: Event, options: TraceOptions, collisions: inout [MetadataCollision]) -> [SpanRecord] {
        let data = event.data
        switch event.type {
        case EventType.turnCompleted:
            return finishTurn(
                at: event.ts, status: .unset, errorType: nil, turnStatus: data["status"]?.stringValue ?? "completed",
                data: data, options: options, collisions: &collisions)
        case EventType.turnCancelled:
            return finishTurn(
                at: event.ts, status: .error("cancelled"), errorType: "cancelled", turnStatus: "cancelled", data: data,
                options: options, collisions: &collisions)
        default:
            let code = data["error_code"]?.stringValue ?? "turn_failed"
            return finishTurn(
                at: event.ts, status: .error(code), errorType: code, turnStatus: "failed", data: data, options: options,
                collisions: &collisions)
        }
    }

    /// Ends whatever is still open with `status`, then the root.
    mutating func finishTurn(
        at time: Date, status: SpanRecord.Status, errorType: String?, turnStatus: String, data: JSONValue,
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
        attributes.set(TraceKey.turnIterations, int: data["iterations"]?.intValue ?? iterations)
        attributes.set(TraceKey.turnStatus, string: turnStatus)
        if let usage = TraceIDs.usage(data["usage"]) ?? (sawChatUsage ? chatUsage : nil) {
            attributes.setUsage(usage)
        }
        attributes.setTimeToFirstToken(milliseconds: data["time_to_first_token_ms"]?.intValue)
        attributes.set(TraceKey.durationMS, int: data["duration_ms"]?.intValue)
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

    // MARK: Helpers

    private func child(of parent: TraceOpenSpan, eventID: String, name: String, kind: SpanRecord.Kind, start: Date)
        -> TraceOpenSpan
    {
        TraceOpenSpan(
            spanID: TraceIDs.bytes(ofPublicID: eventID, count: 8), parentID: parent.spanID, name: name, kind: kind,
            start: max(start, parent.start))
    }

    private func toolSpan(eventID: String, callID: String, name: String, start: Date) -> TraceOpenSpan {
        var span = child(of: act ?? root, eventID: eventID, name: "execute_tool \(name)", kind: .internal, start: start)
        span.attributes.set(TraceKey.operationName, string: "execute_tool")
        span.attributes.set(TraceKey.openInferenceKind, string: "TOOL")
        span.attributes.set(TraceKey.toolName, string: name)
        span.attributes.set(TraceKey.toolCallID, string: callID)
        span.attributes.set(TraceKey.toolType, string: "function")
        return span
    }

    private mutating func closeThinking(
        at time: Date, _ options: TraceOptions, _ collisions: inout [MetadataCollision]
    ) -> [SpanRecord] {
        guard let span = thinking else { return [] }
        thinking = nil
        return [finish(span, at: time, status: .unset, options, &collisions)]
    }

    private mutating func closeReason(
        at time: Date, status: SpanRecord.Status, errorType: String?, _ options: TraceOptions,
        _ collisions: inout [MetadataCollision]
    ) -> [SpanRecord] {
        var spans: [SpanRecord] = []
        if var span = thinking {
            thinking = nil
            if errorType != nil { span.attributes.set(TraceKey.errorType, string: errorType) }
            spans.append(finish(span, at: time, status: status, options, &collisions))
        }
        if var span = reason {
            reason = nil
            if errorType != nil { span.attributes.set(TraceKey.errorType, string: errorType) }
            spans.append(finish(span, at: time, status: status, options, &collisions))
        }
        return spans
    }

    private mutating func closeTools(
        at time: Date, status: SpanRecord.Status, errorType: String?, _ options: TraceOptions,
        _ collisions: inout [MetadataCollision]
    ) -> [SpanRecord] {
        let open = tools
        tools = []
        return open.map { entry in
            var span = entry.span
            span.attributes.set(TraceKey.toolSuccess, .bool(false))
            if errorType != nil { span.attributes.set(TraceKey.errorType, string: errorType) }
            return finish(span, at: time, status: status, options, &collisions)
        }
    }

    private mutating func closeAct(
        at time: Date, status: SpanRecord.Status, errorType: String?, _ options: TraceOptions,
        _ collisions: inout [MetadataCollision]
    ) -> [SpanRecord] {
        var spans = closeTools(at: time, status: status, errorType: errorType, options, &collisions)
        if var span = act {
            act = nil
            if errorType != nil { span.attributes.set(TraceKey.errorType, string: errorType) }
            spans.append(finish(span, at: time, status: status, options, &collisions))
        }
        return spans
    }

    /// Builds the finished record and stretches the parent so it still contains this span.
    private mutating func finish(
        _ span: TraceOpenSpan, at time: Date, status: SpanRecord.Status, _ options: TraceOptions,
        _ collisions: inout [MetadataCollision]
    ) -> SpanRecord {
        let end = max(time, span.start, span.latestChildEnd)
        var attributes = span.attributes
        if !attributes.contains(TraceKey.durationMS) {
            attributes.set(TraceKey.durationMS, int: TraceIDs.milliseconds(from: span.start, to: end))
        }
        attributes.merge(commonAttributes(options, &collisions))
        if let parent = span.parentID {
            if root.spanID == parent { root.latestChildEnd = max(root.latestChildEnd, end) }
            if var open = reason, open.spanID == parent {
                open.latestChildEnd = max(open.latestChildEnd, end)
                reason = open
            }
            if var open = act, open.spanID == parent {
                open.latestChildEnd = max(open.latestChildEnd, end)
                act = open
            }
        }
        return SpanRecord(
            traceID: traceID, spanID: span.spanID, parentSpanID: span.parentID, name: span.name, kind: span.kind,
            start: span.start, end: end, attributes: attributes.items, status: status)
    }

    private func agentAttributes(_ options: TraceOptions) -> TraceAttributeList {
        var attributes = TraceAttributeList()
        attributes.set(TraceKey.agentID, string: agentID)
        attributes.set(TraceKey.agentName, string: agentName)
        return attributes
    }

    /// Session and Langfuse trace attributes for every span, computed once per turn (the agent is
    /// known by then: every span but an aborted turn's root ends after the first `reason.started`).
    /// Runtime metadata keys win over request metadata; colliding keys are reported once.
    private mutating func commonAttributes(_ options: TraceOptions, _ collisions: inout [MetadataCollision])
        -> TraceAttributeList
    {
        if let common { return common }
        agentName = agentID.flatMap { options.agentName?($0) }
        rootName = "invoke_agent \(agentName ?? options.defaultAgentName)"
        var attributes = TraceAttributeList()
        attributes.set(TraceKey.conversationID, string: sessionID)
        attributes.set(TraceKey.sessionID, string: sessionID)
        attributes.set(TraceKey.langfuseSessionID, string: sessionID)
        attributes.set(TraceKey.langfuseTraceName, string: rootName)
        var runtime: [(String, String)] = [("session_id", sessionID), ("turn_id", turnID)]
        if let agentID { runtime.append(("agent_id", agentID)) }
        for (key, value) in runtime { attributes.set(TraceKey.langfuseMetadataPrefix + key, string: value) }
        let reserved = Set(runtime.map(\.0))
        var collided: [String] = []
        for (key, value) in userMetadata {
            if reserved.contains(key) {
                collided.append(key)
            } else {
                attributes.set(TraceKey.langfuseMetadataPrefix + key, value)
            }
        }
        if !collided.isEmpty {
            collisions.append(MetadataCollision(sessionID: sessionID, turnID: turnID, keys: collided.sorted()))
        }
        common = attributes
        return attributes
    }
}
