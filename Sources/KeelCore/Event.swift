import Foundation

/// Correlation identifiers attached to an event.
public struct EventContext: Codable, Sendable, Hashable {
    public var turnID: String?
    public var inputMessageID: String?
    public var execID: String?
    public var traceID: String?
    public var spanID: String?
    public var parentSpanID: String?

    enum CodingKeys: String, CodingKey {
        case turnID = "turn_id"
        case inputMessageID = "input_message_id"
        case execID = "exec_id"
        case traceID = "trace_id"
        case spanID = "span_id"
        case parentSpanID = "parent_span_id"
    }

    public init(turnID: String? = nil, inputMessageID: String? = nil) {
        self.turnID = turnID
        self.inputMessageID = inputMessageID
    }
}

/// One entry of a session's append-only event log. `sequence` is gapless per session, from 1.
public struct Event: Codable, Sendable, Hashable {
    public var id: String
    public var type: String
    public var ts: Date
    public var sessionID: String
    public var sequence: Int
    public var context: EventContext
    public var data: JSONValue
    public var metadata: JSONValue?
    public var tags: [String]?

    enum CodingKeys: String, CodingKey {
        case id, type, ts
        case sessionID = "session_id"
        case sequence, context, data, metadata, tags
    }

    public init(
        id: String = PublicID.make(.event), type: String, ts: Date = Date(), sessionID: String, sequence: Int,
        context: EventContext, data: JSONValue, metadata: JSONValue? = nil, tags: [String]? = nil
    ) {
        self.id = id
        self.type = type
        self.ts = ts
        self.sessionID = sessionID
        self.sequence = sequence
        self.context = context
        self.data = data
        self.metadata = metadata
        self.tags = tags
    }
}

/// An event before the store has given it an id and a sequence number.
public struct EventDraft: Codable, Sendable, Hashable {
    public var type: String
    public var context: EventContext
    public var data: JSONValue
    public var metadata: JSONValue?
    public var tags: [String]?

    public init(type: String, context: EventContext, data: JSONValue, metadata: JSONValue? = nil, tags: [String]? = nil) {
        self.type = type
        self.context = context
        self.data = data
        self.metadata = metadata
        self.tags = tags
    }
}

/// The event types the runtime emits. Filters naming any other type are rejected.
public enum EventType {
    public static let inputMessage = "input.message"
    public static let turnStarted = "turn.started"
    public static let sessionActivated = "session.activated"
    public static let sessionStarted = "session.started"
    public static let reasonStarted = "reason.started"
    public static let reasonThinkingStarted = "reason.thinking.started"
    public static let reasonThinkingDelta = "reason.thinking.delta"
    public static let reasonThinkingCompleted = "reason.thinking.completed"
    public static let outputMessageStarted = "output.message.started"
    public static let outputMessageDelta = "output.message.delta"
    public static let outputMessageCompleted = "output.message.completed"
    public static let llmGeneration = "llm.generation"
    public static let reasonCompleted = "reason.completed"
    public static let actStarted = "act.started"
    public static let toolStarted = "tool.started"
    public static let toolCompleted = "tool.completed"
    public static let actCompleted = "act.completed"
    public static let turnCompleted = "turn.completed"
    public static let turnFailed = "turn.failed"
    public static let turnCancelled = "turn.cancelled"
    public static let sessionIdled = "session.idled"

    public static let all: Set<String> = [
        inputMessage, turnStarted, sessionActivated, sessionStarted, reasonStarted, reasonThinkingStarted,
        reasonThinkingDelta, reasonThinkingCompleted, outputMessageStarted, outputMessageDelta,
        outputMessageCompleted, llmGeneration, reasonCompleted, actStarted, toolStarted, toolCompleted,
        actCompleted, turnCompleted, turnFailed, turnCancelled, sessionIdled,
    ]

    public static let terminal: Set<String> = [turnCompleted, turnFailed, turnCancelled]
}
