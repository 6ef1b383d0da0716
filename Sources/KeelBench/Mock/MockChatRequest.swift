/// The parts of a Chat Completions request body the mock looks at: whether to stream, whether to
/// send usage, the tools offered, and the role of the last message. Everything else (the content
/// of a long conversation) is skipped by the decoder without being kept.
struct MockChatRequest: Decodable, Sendable {
    struct Message: Decodable, Sendable {
        var role: String
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
