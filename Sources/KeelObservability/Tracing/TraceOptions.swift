import Foundation
import KeelCore

/// How `TurnTraceBuilder` turns events into spans.
struct TraceOptions: Sendable {
    /// Record message content: `gen_ai.input.messages` / `gen_ai.output.messages` on chat spans,
    /// `gen_ai.tool.call.arguments` / `.result` on tool spans, thinking text, and the root's
    /// `input.value` / `output.value`. Off by default: without it no message text, tool argument
    /// or tool result appears anywhere in a span.
    var captureContent: Bool
    /// The root span is `invoke_agent {name}`; this name is used when the agent has none.
    var defaultAgentName: String
    /// Looks up an agent's display name from its id (events carry only the id). Called on the
    /// builder's consumer task, so it must be cheap and non-blocking (e.g. a cache read).
    var agentName: (@Sendable (_ agentID: String) -> String?)?
    /// Called once per turn whose request metadata uses a key the runtime sets itself
    /// (`session_id`, `turn_id`, `agent_id`): the runtime value wins and the caller should log.
    var onMetadataCollision: (@Sendable (MetadataCollision) -> Void)?
    /// At most this many sessions are tracked; the least recently active are forgotten first
    /// (sessions with an open turn last).
    var maxSessions: Int
    /// With content capture, the most recent messages kept per session to rebuild the
    /// conversation for `gen_ai.input.messages`. Capture keeps a session's history after it
    /// idles, so its memory is bounded by `maxSessions × maxHistoryMessages` messages; history
    /// starts with the first event the builder sees (earlier messages are unknown to it).
    var maxHistoryMessages: Int
    /// Input messages waiting for their turn, per session.
    var maxPendingInputs: Int
    /// Called with an agent's id and display name when a `turn.started` names it, so the caller
    /// can answer later `agentName` lookups (the publisher keeps them for every session).
    var onAgentNamed: (@Sendable (_ agentID: String, _ name: String) -> Void)?
    /// Where events whose data does not decode are reported (consumer `trace`); the builder skips
    /// what depends on such an event and carries on with the rest of the turn.
    var decodeFailures: EventDecodeFailureReporter

    /// The `consumer` label of the trace builder's decode failures.
    static let decodeFailureConsumer = "trace"

    init(
        captureContent: Bool = false, defaultAgentName: String = "keel",
        agentName: (@Sendable (_ agentID: String) -> String?)? = nil,
        onMetadataCollision: (@Sendable (MetadataCollision) -> Void)? = nil, maxSessions: Int = 10_000,
        maxHistoryMessages: Int = 200, maxPendingInputs: Int = 64,
        onAgentNamed: (@Sendable (_ agentID: String, _ name: String) -> Void)? = nil,
        decodeFailures: EventDecodeFailureReporter = .logging(label: "keel.trace")
    ) {
        self.captureContent = captureContent
        self.defaultAgentName = defaultAgentName
        self.agentName = agentName
        self.onMetadataCollision = onMetadataCollision
        self.maxSessions = max(1, maxSessions)
        self.maxHistoryMessages = max(1, maxHistoryMessages)
        self.maxPendingInputs = max(1, maxPendingInputs)
        self.onAgentNamed = onAgentNamed
        self.decodeFailures = decodeFailures
    }

    /// The event's typed payload, or nil once its decode failure has been reported.
    func payload<Payload: EventPayload>(of event: Event, as type: Payload.Type) -> Payload? {
        event.payload(as: type, consumer: Self.decodeFailureConsumer, failures: decodeFailures)
    }

    /// Whether the environment turns content capture on:
    /// `OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT` (`true`, `SPAN_ONLY`, `SPAN_AND_EVENT`;
    /// anything else is off) wins when set; otherwise the legacy `OTEL_RECORD_CONTENT=true`.
    static func captureContent(environment: [String: String]) -> Bool {
        let standard = environment["OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT"]?
            .trimmingCharacters(in: .whitespaces).lowercased() ?? ""
        if !standard.isEmpty { return ["true", "span_only", "span_and_event"].contains(standard) }
        let legacy = environment["OTEL_RECORD_CONTENT"]?.trimmingCharacters(in: .whitespaces).lowercased() ?? ""
        return legacy == "true"
    }
}

/// Request metadata keys that collided with runtime keys on one turn (the runtime value won).
struct MetadataCollision: Sendable, Hashable {
    var sessionID: String
    var turnID: String
    /// Sorted.
    var keys: [String]

    init(sessionID: String, turnID: String, keys: [String]) {
        self.sessionID = sessionID
        self.turnID = turnID
        self.keys = keys
    }
}
