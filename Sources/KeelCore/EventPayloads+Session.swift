import Foundation

/// `input.message`: a user message was stored (also the cancel notice).
public struct InputMessagePayload: EventPayload {
    public static let eventType = EventType.inputMessage
    public var message: Message

    public init(message: Message) { self.message = message }
}

/// `session.started`: the session was created.
public struct SessionStartedPayload: EventPayload {
    public static let eventType = EventType.sessionStarted
    @ExplicitNull public var agentID: String?
    @ExplicitNull public var modelID: String?

    enum CodingKeys: String, CodingKey {
        case agentID = "agent_id"
        case modelID = "model_id"
    }

    public init(agentID: String?, modelID: String?) {
        self.agentID = agentID
        self.modelID = modelID
    }
}

/// `session.activated`: the session's status became active for a turn.
public struct SessionActivatedPayload: EventPayload {
    public static let eventType = EventType.sessionActivated
    public var turnID: String
    public var inputMessageID: String

    enum CodingKeys: String, CodingKey {
        case turnID = "turn_id"
        case inputMessageID = "input_message_id"
    }

    public init(turnID: String, inputMessageID: String) {
        self.turnID = turnID
        self.inputMessageID = inputMessageID
    }
}

/// `session.idled`: the session's status became idle after a turn; `usage` is the session's total.
public struct SessionIdledPayload: EventPayload {
    public static let eventType = EventType.sessionIdled
    public var turnID: String
    public var iterations: Int
    public var usage: Usage

    enum CodingKeys: String, CodingKey {
        case turnID = "turn_id"
        case iterations, usage
    }

    public init(turnID: String, iterations: Int, usage: Usage) {
        self.turnID = turnID
        self.iterations = iterations
        self.usage = usage
    }
}
