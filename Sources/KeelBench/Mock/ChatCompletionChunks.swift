/// The bytes of one mock completion in OpenAI's Chat Completions wire format.
///
/// Streaming: `data: {chat.completion.chunk}\n\n` frames — the first delta carries
/// `role: "assistant"`, then content pieces or a tool call (`id`, `type`, `function.name`, then the
/// `function.arguments` text in pieces, all under `index` 0), then an empty delta with the
/// `finish_reason`; with `stream_options.include_usage` every chunk has `"usage":null` and one more
/// chunk with empty `choices` carries the usage; `data: [DONE]` ends the stream. Non-streaming: one
/// `chat.completion` object. Built from string templates: no encoder runs per chunk.
struct ChatCompletionChunks: Sendable {
    var completionID: String
    var callID: String
    var created: Int
    var model: String
    var includeUsage: Bool
    var promptTokens: Int

    static let done = "data: [DONE]\n\n"

    /// Every frame of a streamed answer. A stamped answer's content pieces are not here: the
    /// server writes each one (`contentFrame`) at its time, between `opening` and `closing`.
    func streamFrames(for reply: MockReply) -> [String] {
        switch reply {
        case .text(let pieces):
            return [opening] + pieces.map(contentFrame) + closing(for: reply)
        case .toolCall(let name, let argumentPieces):
            let call = #"{"index":0,"id":\#(JSONText.quoted(callID)),"type":"function","function":{"name":\#(JSONText.quoted(name)),"arguments":""}}"#
            let head = frame(delta: #"{"role":"assistant","content":null,"tool_calls":[\#(call)],"refusal":null}"#)
            let arguments = argumentPieces.map { piece in
                frame(delta: #"{"tool_calls":[{"index":0,"function":{"arguments":\#(JSONText.quoted(piece))}}]}"#)
            }
            return [head] + arguments + closing(for: reply)
        case .stampedText:
            return [opening] + closing(for: reply)
        }
    }

    /// The first frame of a text answer: the assistant role, empty content.
    var opening: String {
        frame(delta: #"{"role":"assistant","content":"","refusal":null}"#)
    }

    /// One content piece.
    func contentFrame(_ piece: String) -> String {
        frame(delta: #"{"content":\#(JSONText.quoted(piece))}"#)
    }

    /// The finish frame, the usage frame when asked for, and `[DONE]`.
    func closing(for reply: MockReply) -> [String] {
        let finish = if case .toolCall = reply { "tool_calls" } else { "stop" }
        var frames = [frame(delta: "{}", finishReason: finish)]
        if includeUsage {
            frames.append("data: {\(head),\"choices\":[],\"usage\":\(usage(for: reply))}\n\n")
        }
        frames.append(Self.done)
        return frames
    }

    /// The whole answer as one `chat.completion` object (a request without `"stream": true`).
    func completion(for reply: MockReply) -> String {
        let message: String
        let finish: String
        switch reply {
        case .text(let pieces):
            message = #"{"role":"assistant","content":\#(JSONText.quoted(pieces.joined())),"refusal":null}"#
            finish = "stop"
        case .stampedText:
            message = #"{"role":"assistant","content":\#(JSONText.quoted(TokenStamp.text(TokenStamp.now()))),"refusal":null}"#
            finish = "stop"
        case .toolCall(let name, let argumentPieces):
            let function = #"{"name":\#(JSONText.quoted(name)),"arguments":\#(JSONText.quoted(argumentPieces.joined()))}"#
            message = #"{"role":"assistant","content":null,"tool_calls":[{"id":\#(JSONText.quoted(callID)),"type":"function","function":\#(function)}],"refusal":null}"#
            finish = "tool_calls"
        }
        return #"{"id":\#(JSONText.quoted(completionID)),"object":"chat.completion","created":\#(created),"model":\#(JSONText.quoted(model)),"system_fingerprint":"fp_keel_bench","choices":[{"index":0,"message":\#(message),"logprobs":null,"finish_reason":"\#(finish)"}],"usage":\#(usage(for: reply))}"#
    }

    private var head: String {
        #""id":\#(JSONText.quoted(completionID)),"object":"chat.completion.chunk","created":\#(created),"model":\#(JSONText.quoted(model)),"system_fingerprint":"fp_keel_bench""#
    }

    private func frame(delta: String, finishReason: String? = nil) -> String {
        let finish = finishReason.map { "\"\($0)\"" } ?? "null"
        let usage = includeUsage ? #","usage":null"# : ""
        return #"data: {\#(head),"choices":[{"index":0,"delta":\#(delta),"logprobs":null,"finish_reason":\#(finish)}]\#(usage)}"# + "\n\n"
    }

    private func usage(for reply: MockReply) -> String {
        let completion = reply.completionTokens
        return #"{"prompt_tokens":\#(promptTokens),"completion_tokens":\#(completion),"total_tokens":\#(promptTokens + completion)}"#
    }
}
