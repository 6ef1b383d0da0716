/// The type of an event, e.g. `turn.failed`. A struct rather than an enum so an event log written
/// by a newer server (or a test) with a type this build does not know still decodes; `all` lists
/// the types this runtime emits, and filters naming any other type are rejected.
public struct EventType: RawRepresentable, Hashable, Sendable, Codable, ExpressibleByStringLiteral,
    CustomStringConvertible
{
    public let rawValue: String

    public init(rawValue: String) { self.rawValue = rawValue }
    public init(_ rawValue: String) { self.rawValue = rawValue }
    public init(stringLiteral value: String) { self.rawValue = value }

    /// Encoded as the bare string (`"turn.failed"`), as on the wire and in the store.
    public init(from decoder: any Decoder) throws {
        rawValue = try decoder.singleValueContainer().decode(String.self)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(rawValue)
    }

    /// Interpolates as the raw value (SSE `event:` lines, log fields).
    public var description: String { rawValue }
}

extension EventType {
    public static let inputMessage: EventType = "input.message"
    public static let turnStarted: EventType = "turn.started"
    public static let sessionActivated: EventType = "session.activated"
    public static let sessionStarted: EventType = "session.started"
    public static let reasonStarted: EventType = "reason.started"
    public static let reasonThinkingStarted: EventType = "reason.thinking.started"
    public static let reasonThinkingDelta: EventType = "reason.thinking.delta"
    public static let reasonThinkingCompleted: EventType = "reason.thinking.completed"
    public static let outputMessageStarted: EventType = "output.message.started"
    public static let outputMessageDelta: EventType = "output.message.delta"
    public static let outputMessageCompleted: EventType = "output.message.completed"
    public static let llmGeneration: EventType = "llm.generation"
    public static let reasonCompleted: EventType = "reason.completed"
    public static let actStarted: EventType = "act.started"
    public static let toolStarted: EventType = "tool.started"
    public static let toolCompleted: EventType = "tool.completed"
    public static let actCompleted: EventType = "act.completed"
    public static let toolCallRequested: EventType = "tool.call_requested"
    public static let toolApprovalRequested: EventType = "tool.approval_requested"
    public static let toolApprovalDecided: EventType = "tool.approval_decided"
    public static let questionRequested: EventType = "question.requested"
    public static let turnCompleted: EventType = "turn.completed"
    public static let turnFailed: EventType = "turn.failed"
    public static let turnCancelled: EventType = "turn.cancelled"
    public static let sessionIdled: EventType = "session.idled"

    /// Every type the runtime emits.
    public static let all: Set<EventType> = [
        inputMessage, turnStarted, sessionActivated, sessionStarted, reasonStarted, reasonThinkingStarted,
        reasonThinkingDelta, reasonThinkingCompleted, outputMessageStarted, outputMessageDelta,
        outputMessageCompleted, llmGeneration, reasonCompleted, actStarted, toolStarted, toolCompleted,
        actCompleted, toolCallRequested, toolApprovalRequested, toolApprovalDecided, questionRequested, turnCompleted,
        turnFailed, turnCancelled, sessionIdled,
    ]

    /// The types that end a turn.
    public static let terminal: Set<EventType> = [turnCompleted, turnFailed, turnCancelled]
}
