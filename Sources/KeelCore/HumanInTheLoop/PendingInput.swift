import Foundation

/// A held tool call as `pending_approvals` on the session shows it.
public struct PendingApproval: Codable, Sendable, Hashable {
    public var toolCallID: String
    public var toolName: String
    public var arguments: JSONValue
    public var requestedAt: Date

    enum CodingKeys: String, CodingKey {
        case toolCallID = "tool_call_id"
        case toolName = "tool_name"
        case arguments
        case requestedAt = "requested_at"
    }

    public init(toolCallID: String, toolName: String, arguments: JSONValue, requestedAt: Date) {
        self.toolCallID = toolCallID
        self.toolName = toolName
        self.arguments = arguments
        self.requestedAt = requestedAt
    }
}

/// An `ask_user` call's questions as `pending_questions` on the session shows them.
public struct PendingQuestionSet: Codable, Sendable, Hashable {
    public var toolCallID: String
    public var questions: [UserQuestion]
    public var requestedAt: Date

    enum CodingKeys: String, CodingKey {
        case toolCallID = "tool_call_id"
        case questions
        case requestedAt = "requested_at"
    }

    public init(toolCallID: String, questions: [UserQuestion], requestedAt: Date) {
        self.toolCallID = toolCallID
        self.questions = questions
        self.requestedAt = requestedAt
    }
}

/// An array that is always written and reads as empty when absent, so documents stored before
/// the field existed still decode and every response shows it.
@propertyWrapper
public struct EmptyByDefault<Element: Codable & Sendable & Hashable>: Codable, Sendable, Hashable {
    public var wrappedValue: [Element]

    public init(wrappedValue: [Element] = []) { self.wrappedValue = wrappedValue }

    public init(from decoder: any Decoder) throws {
        wrappedValue = try decoder.singleValueContainer().decode([Element].self)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(wrappedValue)
    }
}

extension KeyedDecodingContainer {
    public func decode<Element>(_ type: EmptyByDefault<Element>.Type, forKey key: Key) throws -> EmptyByDefault<Element> {
        try decodeIfPresent(type, forKey: key) ?? EmptyByDefault()
    }
}
