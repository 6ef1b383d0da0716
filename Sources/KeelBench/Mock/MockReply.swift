/// What the mock answers, decided from the request alone (deterministic): after a tool result a
/// short text; when tools are offered one call of the first tool with `{"a":2,"b":3}`; when the
/// last user message starts with `keel-bench stream`, time-stamped pieces paced `interval` apart
/// (the `stream` scenario); otherwise a text. So a `test_math` agent's turn is two model calls:
/// the `add` call, then the answer.
enum MockReply: Sendable, Equatable {
    case text(pieces: [String])
    case toolCall(name: String, argumentPieces: [String])
    /// `count` pieces, each `TokenStamp.text` of the moment it is written, `interval` apart.
    case stampedText(count: Int, interval: Duration)

    /// How a user message asks for a stamped answer.
    static let stampedRequestPrefix = "keel-bench stream"

    /// The pacing of stamped answers.
    struct Pacing: Sendable, Equatable {
        var pieces = 20
        var interval: Duration = .milliseconds(5)
    }

    /// The `add` arguments, in the two pieces they are streamed as.
    static let argumentPieces = [#"{"a":2,"#, #""b":3}"#]
    private static let words = ["The", " sum", " of", " 2", " and", " 3", " is", " 5."]

    static func decide(for request: MockChatRequest, textChunks: Int, pacing: Pacing = Pacing()) -> MockReply {
        let last = request.messages.last
        if last?.role != "tool", let tool = request.tools?.first?.function?.name {
            return .toolCall(name: tool, argumentPieces: argumentPieces)
        }
        if last?.role == "user", last?.text?.hasPrefix(stampedRequestPrefix) == true {
            return .stampedText(count: max(1, pacing.pieces), interval: pacing.interval)
        }
        return .text(pieces: textPieces(count: textChunks))
    }

    /// `count` content pieces cycling through a short sentence (at least one).
    static func textPieces(count: Int) -> [String] {
        (0..<max(1, count)).map { index in
            let word = words[index % words.count]
            return index > 0 && index % words.count == 0 ? " " + word : word
        }
    }

    var completionTokens: Int {
        switch self {
        case .text(let pieces): pieces.count
        case .toolCall(_, let pieces): 8 + pieces.count
        case .stampedText(let count, _): count
        }
    }
}
