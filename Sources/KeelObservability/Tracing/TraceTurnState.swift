import Foundation
import KeelCore

/// A span that has started and not ended yet.
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

/// The open turn of one session: its root span, the reason / thinking / act / tool spans still
/// open, and what the root reports when the turn ends. The handlers per event type are in
/// `+Reason.swift` (model calls), `+Act.swift` (tool calls) and `+End.swift` (terminal events).
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
    /// The `wait_for_client` span of client-side calls and questions still without a result.
    var clientWait: OpenWait?
    /// The `wait_for_approval` span of held calls still without a decision.
    var approvalWait: OpenWait?

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

    /// Routes one of the turn's events (not a terminal one: see `end`) to its handler. Each
    /// handler gets the event's typed payload; an event whose data does not decode has been
    /// reported by then and is handled as if it had never been written.
    mutating func handle(
        _ event: Event, options: TraceOptions, history: [Message], collisions: inout [MetadataCollision]
    ) -> [SpanRecord] {
        switch event.type {
        case EventType.reasonStarted:
            guard let started = options.payload(of: event, as: ReasonStartedPayload.self) else { return [] }
            return reasonStarted(started, event: event, options: options, collisions: &collisions)
        case EventType.reasonThinkingStarted:
            guard let started = options.payload(of: event, as: ReasonThinkingStartedPayload.self) else { return [] }
            thinkingStarted(started, event: event)
            return []
        case EventType.reasonThinkingCompleted:
            guard let completed = options.payload(of: event, as: ReasonThinkingCompletedPayload.self) else { return [] }
            return thinkingCompleted(completed, event: event, options: options, collisions: &collisions)
        case EventType.llmGeneration:
            guard let generation = options.payload(of: event, as: LLMGenerationPayload.self) else { return [] }
            return [chatSpan(generation, event: event, options: options, history: history, collisions: &collisions)]
        case EventType.reasonCompleted:
            guard let completed = options.payload(of: event, as: ReasonCompletedPayload.self) else { return [] }
            return reasonCompleted(completed, event: event, options: options, collisions: &collisions)
        case EventType.actStarted:
            guard let started = options.payload(of: event, as: ActStartedPayload.self) else { return [] }
            return actStarted(started, event: event, options: options, collisions: &collisions)
        case EventType.toolStarted:
            guard let started = options.payload(of: event, as: ToolStartedPayload.self) else { return [] }
            toolStarted(started, event: event, options: options)
            return []
        case EventType.actCompleted:
            guard let completed = options.payload(of: event, as: ActCompletedPayload.self) else { return [] }
            return actCompleted(completed, event: event, options: options, collisions: &collisions)
        case EventType.toolCallRequested:
            guard let requested = options.payload(of: event, as: ToolCallRequestedPayload.self) else { return [] }
            for call in requested.toolCalls { toolNames[call.id] = call.name }
            clientWait = openWait(clientWait, "wait_for_client", callIDs: requested.toolCalls.map(\.id), event: event)
            return []
        case EventType.questionRequested:
            guard let requested = options.payload(of: event, as: QuestionRequestedPayload.self) else { return [] }
            toolNames[requested.toolCallID] = AskUser.toolName
            clientWait = openWait(clientWait, "wait_for_client", callIDs: [requested.toolCallID], event: event)
            return []
        case EventType.toolApprovalRequested:
            guard let requested = options.payload(of: event, as: ToolApprovalRequestedPayload.self) else { return [] }
            for call in requested.toolCalls { toolNames[call.id] = call.name }
            approvalWait = openWait(approvalWait, "wait_for_approval", callIDs: requested.toolCalls.map(\.id), event: event)
            return []
        case EventType.toolApprovalDecided:
            guard let decided = options.payload(of: event, as: ToolApprovalDecidedPayload.self) else { return [] }
            var approval = approvalWait
            let spans = settle(&approval, callID: decided.toolCallID, at: event.ts, options, &collisions)
            approvalWait = approval
            return spans
        default:
            // Streaming deltas and the like add nothing to the spans. `tool.completed` and
            // `output.message.completed` come straight from the session (see `TraceSessionState`).
            return []
        }
    }

    // MARK: Helpers

    func child(of parent: TraceOpenSpan, eventID: String, name: String, kind: SpanRecord.Kind, start: Date)
        -> TraceOpenSpan
    {
        TraceOpenSpan(
            spanID: TraceIDs.bytes(ofPublicID: eventID, count: 8), parentID: parent.spanID, name: name, kind: kind,
            start: max(start, parent.start))
    }

    func toolSpan(eventID: String, callID: String, name: String, start: Date) -> TraceOpenSpan {
        var span = child(of: act ?? root, eventID: eventID, name: "execute_tool \(name)", kind: .internal, start: start)
        span.attributes.set(TraceKey.operationName, string: "execute_tool")
        span.attributes.set(TraceKey.openInferenceKind, string: "TOOL")
        span.attributes.set(TraceKey.toolName, string: name)
        span.attributes.set(TraceKey.toolCallID, string: callID)
        span.attributes.set(TraceKey.toolType, string: "function")
        return span
    }

    mutating func closeThinking(
        at time: Date, _ options: TraceOptions, _ collisions: inout [MetadataCollision]
    ) -> [SpanRecord] {
        guard let span = thinking else { return [] }
        thinking = nil
        return [finish(span, at: time, status: .unset, options, &collisions)]
    }

    mutating func closeReason(
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

    mutating func closeTools(
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

    mutating func closeAct(
        at time: Date, status: SpanRecord.Status, errorType: String?, _ options: TraceOptions,
        _ collisions: inout [MetadataCollision]
    ) -> [SpanRecord] {
        var spans = closeTools(at: time, status: status, errorType: errorType, options, &collisions)
        for var wait in [clientWait?.span, approvalWait?.span].compactMap({ $0 }) {
            if errorType != nil { wait.attributes.set(TraceKey.errorType, string: errorType) }
            spans.append(finish(wait, at: time, status: status, options, &collisions))
        }
        clientWait = nil
        approvalWait = nil
        if var span = act {
            act = nil
            if errorType != nil { span.attributes.set(TraceKey.errorType, string: errorType) }
            spans.append(finish(span, at: time, status: status, options, &collisions))
        }
        return spans
    }

    /// Builds the finished record and stretches the parent so it still contains this span.
    mutating func finish(
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

    func agentAttributes(_ options: TraceOptions) -> TraceAttributeList {
        var attributes = TraceAttributeList()
        attributes.set(TraceKey.agentID, string: agentID)
        attributes.set(TraceKey.agentName, string: agentName)
        return attributes
    }

    /// Session and Langfuse trace attributes for every span, computed once per turn (the agent is
    /// known by then: every span but an aborted turn's root ends after the first `reason.started`).
    /// Runtime metadata keys win over request metadata; colliding keys are reported once.
    mutating func commonAttributes(_ options: TraceOptions, _ collisions: inout [MetadataCollision])
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
