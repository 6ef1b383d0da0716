import Foundation
import KeelCore

/// A run's stream, status and output, projected from the session's event log.
///
/// Fed every event of the session in order (from the first), it emits the stream parts of the
/// run's window — the events of its turn after `RunData.afterSequence`, up to the turn's end or
/// its first wait — in the stream modes asked for. The projection is a pure function of the log,
/// so a reconnect that replays the log gets the same parts under the same numbers, and
/// `Last-Event-ID` replay is exact, on a finished run too.
public struct RunProjector: Sendable {
    public static let knownModes: Set<String> = [
        "values", "updates", "messages", "messages-tuple", "custom", "events", "debug", "tasks", "checkpoints",
    ]

    let runID: String
    let run: RunData
    let modes: Set<String>
    let failures: EventDecodeFailureReporter
    public private(set) var turnID: String?
    public private(set) var status: RunStatus
    /// `{"error", "message"}` of a failed run.
    public private(set) var failure: JSONValue?
    /// The first wait that interrupted the run.
    public private(set) var interrupt: JSONValue?
    /// Message-bearing events and `turn.started`s of the whole session so far: the thread's values.
    private var conversation: [Event] = []
    private var streamedMessages: Set<String> = []
    private var announcedMessages: Set<String> = []
    private var step = 0
    /// The sequence of the event that ended the window.
    public private(set) var endSequence: Int?

    public init(
        runID: String, run: RunData, modes: [String]? = nil,
        failures: EventDecodeFailureReporter = .logging(label: "keel.agent-protocol")
    ) {
        self.failures = failures
        self.runID = runID
        self.run = run
        self.modes = Set(modes ?? run.streamMode)
        self.turnID = run.turnID
        self.status = run.cancelledBeforeStart == true ? .interrupted : (run.turnID == nil ? .pending : .running)
        if run.cancelledBeforeStart == true { endSequence = run.afterSequence }
    }

    public var isFinished: Bool { status.isFinal }

    /// The thread's values now: `{"messages": [...]}` in LangChain's shape.
    public var values: JSONValue {
        let ordered = MessageProjection.conversationOrder(conversation)
        return ["messages": .array(LangChainMessages.encode(MessageProjection.messages(from: ordered, failures: failures)))]
    }

    /// The run's `output`: the final values, or `{"__error__": …}` for a failed run.
    public var output: JSONValue? {
        guard isFinished else { return nil }
        if let failure { return ["__error__": failure] }
        return values
    }

    /// The first part of every stream.
    public func metadataPart() -> StreamPart {
        StreamPart(event: "metadata", data: ["run_id": .string(runID), "attempt": 1])
    }

    /// The last part of every stream.
    public func endPart() -> StreamPart {
        let text: String =
            switch status {
            case .success: "success"
            case .error, .timeout: "error"
            default: "interrupted"
            }
        return StreamPart(event: "end", data: ["status": .string(text)])
    }

    /// Takes the session's next event; returns the parts it adds to the run's stream.
    public mutating func feed(_ event: Event) -> [StreamPart] {
        if MessageProjection.sourceTypes.contains(event.type) || event.type == EventType.turnStarted {
            conversation.append(event)
        }
        guard !isFinished, event.sequence > run.afterSequence else { return [] }
        if turnID == nil {
            guard event.type == EventType.turnStarted, event.context.inputMessageID == run.inputMessageID,
                run.inputMessageID != nil
            else { return [] }
            turnID = event.context.turnID
            status = .running
        }
        guard event.context.turnID == turnID, turnID != nil else { return [] }
        var parts: [StreamPart] = []
        if modes.contains("events") {
            parts.append(StreamPart(event: "events", data: [
                "event": .string("on_" + event.type.rawValue.replacingOccurrences(of: ".", with: "_")),
                "run_id": .string(runID), "name": .string(event.type.rawValue), "data": event.data,
                "metadata": ["thread_id": .string(run.threadID), "keel_event_id": .string(event.id)],
            ]))
        }
        parts += project(event)
        return parts
    }

    private mutating func project(_ event: Event) -> [StreamPart] {
        var parts: [StreamPart] = []
        switch event.type {
        case EventType.turnStarted:
            if modes.contains("values") { parts.append(valuesPart()) }
        case EventType.outputMessageStarted:
            if modes.contains("messages"), let payload = try? event.payload(as: OutputMessageStartedPayload.self),
                announcedMessages.insert(payload.messageID).inserted
            {
                step = payload.iteration
                parts.append(StreamPart(event: "messages/metadata", data: .object([
                    payload.messageID: ["metadata": messageMetadata(model: payload.model)]
                ])))
            }
        case EventType.outputMessageDelta:
            guard let payload = try? event.payload(as: OutputMessageDeltaPayload.self) else { break }
            streamedMessages.insert(payload.messageID)
            if modes.contains("messages-tuple") {
                parts.append(StreamPart(event: "messages", data: [
                    LangChainMessages.ai(id: payload.messageID, text: payload.delta, toolCalls: [], chunk: true),
                    messageMetadata(model: nil),
                ]))
            }
            if modes.contains("messages") {
                parts.append(StreamPart(event: "messages/partial", data: [
                    LangChainMessages.ai(id: payload.messageID, text: payload.accumulated, toolCalls: [], chunk: true)
                ]))
            }
        case EventType.outputMessageCompleted:
            guard let payload = try? event.payload(as: OutputMessageCompletedPayload.self) else { break }
            let message = payload.message
            let full = LangChainMessages.ai(id: message.id, text: message.text, toolCalls: message.toolCalls)
            if modes.contains("messages-tuple") {
                let streamed = streamedMessages.contains(message.id)
                if !streamed || !message.toolCalls.isEmpty {
                    parts.append(StreamPart(event: "messages", data: [
                        LangChainMessages.ai(
                            id: message.id, text: streamed ? "" : message.text, toolCalls: message.toolCalls, chunk: true),
                        messageMetadata(model: payload.metadata.model),
                    ]))
                }
            }
            if modes.contains("messages") { parts.append(StreamPart(event: "messages/complete", data: [full])) }
            if modes.contains("updates") {
                parts.append(StreamPart(event: "updates", data: ["agent": ["messages": [full]]]))
            }
            if modes.contains("values") { parts.append(valuesPart()) }
        case EventType.toolCompleted:
            if modes.contains("updates"), let message = MessageProjection.message(from: event, failures: failures) {
                let names = toolNames()
                parts.append(StreamPart(event: "updates", data: [
                    "tools": ["messages": .array(LangChainMessages.encode(message, toolNames: names))]
                ]))
            }
            if modes.contains("values") { parts.append(valuesPart()) }
        case let type where Interrupts.waitTypes.contains(type):
            guard let interrupt = Interrupts.interrupt(from: event) else { break }
            self.interrupt = interrupt
            if modes.contains("updates") {
                parts.append(StreamPart(event: "updates", data: ["__interrupt__": [interrupt]]))
            } else if modes.contains("values") {
                var state = values.objectValue ?? [:]
                state["__interrupt__"] = [interrupt]
                parts.append(StreamPart(event: "values", data: .object(state)))
            }
            finish(.interrupted, at: event)
        case EventType.turnCompleted:
            finish(.success, at: event)
        case EventType.turnFailed:
            let payload = try? event.payload(as: TurnFailedPayload.self)
            let failure: JSONValue = [
                "error": .string(payload?.errorCode ?? "turn_failed"), "message": .string(payload?.error ?? "The run failed"),
            ]
            self.failure = failure
            parts.append(StreamPart(event: "error", data: failure))
            finish(.error, at: event)
        case EventType.turnCancelled:
            finish(.interrupted, at: event)
        default:
            break
        }
        return parts
    }

    private mutating func finish(_ status: RunStatus, at event: Event) {
        self.status = status
        endSequence = event.sequence
    }

    private func valuesPart() -> StreamPart { StreamPart(event: "values", data: values) }

    private func toolNames() -> [String: String] {
        var names: [String: String] = [:]
        for event in conversation where event.type == EventType.outputMessageCompleted {
            guard let payload = try? event.payload(as: OutputMessageCompletedPayload.self) else { continue }
            for call in payload.message.toolCalls { names[call.id] = call.name }
        }
        return names
    }

    private func messageMetadata(model: String?) -> JSONValue {
        var metadata: [String: JSONValue] = [
            "run_id": .string(runID), "thread_id": .string(run.threadID), "assistant_id": .string(run.assistantID),
            "graph_id": .string(run.graphID), "langgraph_node": "agent", "langgraph_step": .number(Double(step)),
        ]
        if let model { metadata["ls_model_name"] = .string(model) }
        return .object(metadata)
    }
}
