import KeelCore

/// Decides what the sim "model" answers, purely from the request (no randomness except ids),
/// so a conversation with it is reproducible.
enum SimScript {
    struct Reply: Sendable {
        var text: String
        var toolCalls: [ToolCall]
        /// The pause between streamed chunks the user's `[[pace:MS]]` asked for.
        var pace: Duration?
    }

    static func reply(to request: LLMRequest) throws -> Reply {
        let userText = request.messages.last { $0.role == .user }?.text ?? ""
        var reply = try unpacedReply(to: request, prompt: SimDirectives.removingPace(from: userText))
        reply.pace = SimDirectives.pace(in: userText)
        return reply
    }

    private static func unpacedReply(to request: LLMRequest, prompt: String) throws -> Reply {
        if let last = request.messages.last, last.role == .toolResult {
            return Reply(text: toolResultsSummary(last, history: request.messages.dropLast()), toolCalls: [])
        }
        if prompt.contains(SimDirectives.error) {
            throw LLMError.server(status: 500)
        }
        let (directives, remaining) = SimDirectives.parse(prompt)
        var calls: [ToolCall] = []
        var taken = Set<String>()
        func call(_ name: String, _ arguments: JSONValue) {
            let id = RandomHex.callID(notIn: taken)
            taken.insert(id)
            calls.append(ToolCall(id: id, name: name, arguments: arguments))
        }
        if !directives.isEmpty {
            directives.forEach { call($0.name, $0.arguments) }
            return Reply(text: remaining, toolCalls: calls)
        }
        if prompt.contains(SimDirectives.autoTools), let first = request.tools.first {
            call(first.name, [:])
            return Reply(text: remaining, toolCalls: calls)
        }
        return Reply(text: "Echo: \(prompt)", toolCalls: [])
    }

    /// `Tool results: name=<result JSON or error>; ...`, naming each result after the call it
    /// answers (found in the preceding agent message).
    static func toolResultsSummary(_ message: Message, history: ArraySlice<Message>) -> String {
        let callingMessage = history.last { $0.role == .agent }
        let names = ToolCallText.namesByCallID(in: callingMessage.map { [$0] } ?? [])
        let entries = message.content.compactMap { part -> String? in
            guard case .toolResult(let callID, let result, let error) = part else { return nil }
            return "\(names[callID] ?? callID)=\(error ?? result?.jsonString ?? "null")"
        }
        return "Tool results: " + entries.joined(separator: "; ")
    }

    /// Splits text into word chunks, each carrying the whitespace before it, so the chunks
    /// concatenate back to the exact text: "Echo: hi" → ["Echo:", " hi"].
    static func wordChunks(_ text: String) -> [String] {
        var chunks: [String] = []
        var current = ""
        for character in text {
            if character.isWhitespace, current.contains(where: { !$0.isWhitespace }) {
                chunks.append(current)
                current = ""
            }
            current.append(character)
        }
        if !current.isEmpty { chunks.append(current) }
        return chunks
    }

    /// The sim's token estimate: a quarter of the characters (UTF-8 bytes: counting them is free,
    /// where counting grapheme clusters walked the whole prompt on every call), at least one.
    static func tokens(forCharacters count: Int) -> Int {
        max(1, count / 4)
    }

    static func promptCharacters(_ request: LLMRequest) -> Int {
        request.messages.reduce(request.systemPrompt.utf8.count) { total, message in
            total + message.content.reduce(0) { $0 + characters(of: $1) }
        }
    }

    static func characters(of part: ContentPart) -> Int {
        switch part {
        case .text(let text): text.utf8.count
        case .toolCall(let call): call.name.utf8.count + call.arguments.jsonString.utf8.count
        case .toolResult(_, let result, let error): (error ?? result?.jsonString ?? "").utf8.count
        case .image, .imageFile: 0
        }
    }
}
