/// The parts of a Chat Completions request body the mock looks at: whether to stream, whether to
/// send usage, the tools offered, and the role and text of each message. Anything else is skipped
/// by the decoder without being kept.
struct MockChatRequest: Decodable, Sendable {
    struct Message: Decodable, Sendable {
        var role: String
        /// The content when it is a plain string (nil for content parts or null).
        var text: String?

        enum CodingKeys: String, CodingKey {
            case role, content
        }

        init(role: String, text: String? = nil) {
            self.role = role
            self.text = text
        }

        init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            role = try container.decode(String.self, forKey: .role)
            text = try? container.decodeIfPresent(String.self, forKey: .content)
        }
    }

    struct Tool: Decodable, Sendable {
        struct Function: Decodable, Sendable {
            var name: String
        }

        var function: Function?
    }

    struct StreamOptions: Decodable, Sendable {
        var includeUsage: Bool?

        enum CodingKeys: String, CodingKey {
            case includeUsage = "include_usage"
        }
    }

    var model: String?
    var messages: [Message]
    var tools: [Tool]?
    var stream: Bool?
    var streamOptions: StreamOptions?

    enum CodingKeys: String, CodingKey {
        case model, messages, tools, stream
        case streamOptions = "stream_options"
    }

    var includeUsage: Bool { streamOptions?.includeUsage ?? false }
}
