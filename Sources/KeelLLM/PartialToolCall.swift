import KeelCore

/// A tool call being assembled from streamed fragments (OpenAI `tool_calls` deltas, Anthropic
/// `input_json_delta`s): the arguments arrive as JSON text split at arbitrary points, so they
/// are concatenated and parsed only once the call is complete.
struct PartialToolCall: Sendable {
    var id: String
    var name: String
    var argumentText = ""

    func finished(idIfMissing: String) -> ToolCall {
        ToolCall(id: id.isEmpty ? idIfMissing : id, name: name, arguments: ToolCallText.arguments(from: argumentText))
    }
}

extension [PartialToolCall] {
    /// Completed calls in stream order; calls a provider sent without an id get a fresh one.
    func finishedCalls() -> [ToolCall] {
        var taken = Set(map(\.id))
        return map { partial in
            let call = partial.finished(idIfMissing: RandomHex.callID(notIn: taken))
            taken.insert(call.id)
            return call
        }
    }
}
