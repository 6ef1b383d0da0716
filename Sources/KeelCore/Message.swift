import Foundation

/// Who authored a message. The wire says `agent`, never `assistant`.
public enum MessageRole: String, Codable, Sendable, CaseIterable {
    case system, user, agent
    case toolResult = "tool_result"
}

/// A tool invocation requested by the model.
public struct ToolCall: Codable, Sendable, Hashable {
    public var id: String
    public var name: String
    public var arguments: JSONValue
    /// An opaque provider signature that must travel back with the call in later requests
    /// (Gemini's `thoughtSignature`).
    public var signature: String?

    public init(id: String, name: String, arguments: JSONValue, signature: String? = nil) {
        self.id = id
        self.name = name
        self.arguments = arguments
        self.signature = signature
    }
}

/// One typed piece of message content, tagged by `type` on the wire.
public enum ContentPart: Sendable, Hashable {
    case text(String)
    case image(url: String?, base64: String?, mediaType: String?)
    case imageFile(imageID: String, filename: String?)
    case toolCall(ToolCall)
    case toolResult(toolCallID: String, result: JSONValue?, error: String?)

    public static let wireTypes = ["text", "image", "image_file", "tool_call", "tool_result"]

    public var text: String? {
        if case .text(let text) = self { return text }
        return nil
    }
}

extension ContentPart: Codable {
    private enum CodingKeys: String, CodingKey {
        case type, text, url, base64, id, name, arguments, result, error
        case signature
        case mediaType = "media_type"
        case imageID = "image_id"
        case filename
        case toolCallID = "tool_call_id"
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        let type = try container.decode(String.self, forKey: .type)
        switch type {
        case "text":
            self = .text(try container.decode(String.self, forKey: .text))
        case "image":
            let url = try container.decodeIfPresent(String.self, forKey: .url)
            let base64 = try container.decodeIfPresent(String.self, forKey: .base64)
            guard url != nil || base64 != nil else {
                throw DecodingError.dataCorruptedError(
                    forKey: .url, in: container, debugDescription: "an image part needs url or base64")
            }
            self = .image(url: url, base64: base64, mediaType: try container.decodeIfPresent(String.self, forKey: .mediaType))
        case "image_file":
            self = .imageFile(
                imageID: try container.decode(String.self, forKey: .imageID),
                filename: try container.decodeIfPresent(String.self, forKey: .filename))
        case "tool_call":
            self = .toolCall(
                ToolCall(
                    id: try container.decode(String.self, forKey: .id),
                    name: try container.decode(String.self, forKey: .name),
                    arguments: try container.decodeIfPresent(JSONValue.self, forKey: .arguments) ?? [:],
                    signature: try container.decodeIfPresent(String.self, forKey: .signature)))
        case "tool_result":
            self = .toolResult(
                toolCallID: try container.decode(String.self, forKey: .toolCallID),
                result: try container.decodeIfPresent(JSONValue.self, forKey: .result),
                error: try container.decodeIfPresent(String.self, forKey: .error))
        default:
            throw DecodingError.dataCorruptedError(
                forKey: .type, in: container,
                debugDescription: "unknown content part type '\(type)'; expected one of \(Self.wireTypes.joined(separator: ", "))")
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        switch self {
        case .text(let text):
            try container.encode("text", forKey: .type)
            try container.encode(text, forKey: .text)
        case .image(let url, let base64, let mediaType):
            try container.encode("image", forKey: .type)
            try container.encodeIfPresent(url, forKey: .url)
            try container.encodeIfPresent(base64, forKey: .base64)
            try container.encodeIfPresent(mediaType, forKey: .mediaType)
        case .imageFile(let imageID, let filename):
            try container.encode("image_file", forKey: .type)
            try container.encode(imageID, forKey: .imageID)
            try container.encodeIfPresent(filename, forKey: .filename)
        case .toolCall(let call):
            try container.encode("tool_call", forKey: .type)
            try container.encode(call.id, forKey: .id)
            try container.encode(call.name, forKey: .name)
            try container.encode(call.arguments, forKey: .arguments)
            try container.encodeIfPresent(call.signature, forKey: .signature)
        case .toolResult(let toolCallID, let result, let error):
            try container.encode("tool_result", forKey: .type)
            try container.encode(toolCallID, forKey: .toolCallID)
            try container.encodeIfPresent(result, forKey: .result)
            try container.encodeIfPresent(error, forKey: .error)
        }
    }
}

/// A conversation message. Messages are not stored on their own: they are projected from the
/// session's events (`input.message`, `output.message.completed`, `tool.completed`).
public struct Message: Codable, Sendable, Hashable {
    public var id: String
    public var role: MessageRole
    public var content: [ContentPart]
    public var controls: JSONValue?
    public var metadata: JSONValue?
    public var createdAt: Date
    public var sessionID: String?
    public var sequence: Int?

    enum CodingKeys: String, CodingKey {
        case id, role, content, controls, metadata
        case createdAt = "created_at"
        case sessionID = "session_id"
        case sequence
    }

    public init(
        id: String = PublicID.make(.message), role: MessageRole, content: [ContentPart],
        controls: JSONValue? = nil, metadata: JSONValue? = nil, createdAt: Date = Date()
    ) {
        self.id = id
        self.role = role
        self.content = content
        self.controls = controls
        self.metadata = metadata
        self.createdAt = createdAt
    }

    /// All text parts joined: what a person reads of the message.
    public var text: String {
        content.compactMap(\.text).joined()
    }

    public var toolCalls: [ToolCall] {
        content.compactMap { part in
            if case .toolCall(let call) = part { return call }
            return nil
        }
    }
}
