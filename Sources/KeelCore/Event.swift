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
    public var type: EventType
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
        id: String = PublicID.make(.event), type: EventType, ts: Date = Date(), sessionID: String, sequence: Int,
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
    public var type: EventType
    public var context: EventContext
    public var data: JSONValue
    public var metadata: JSONValue?
    public var tags: [String]?

    public init(type: EventType, context: EventContext, data: JSONValue, metadata: JSONValue? = nil, tags: [String]? = nil) {
        self.type = type
        self.context = context
        self.data = data
        self.metadata = metadata
        self.tags = tags
    }
}

