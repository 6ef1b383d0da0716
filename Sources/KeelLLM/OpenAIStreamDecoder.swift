import Foundation
import KeelCore

/// Decodes `chat.completion.chunk` events.
///
/// Tool calls arrive as fragments keyed by `index`: the first carries `id` and `function.name`,
/// later ones only pieces of `function.arguments` text. The last chunk (with
/// `stream_options.include_usage`) has empty `choices` and the `usage`; `data: [DONE]` ends it.
struct OpenAIStreamDecoder: ProviderStreamDecoder {
    private var text = ""
    private var thinking = ""
    private var toolCalls: [PartialToolCall] = []
    /// Stream `index` → position in `toolCalls`.
    private var slots: [Int: Int] = [:]
    private var finishReason: String?
    private var responseID: String?
    private var model: String?
    private var usage = Usage()
    private(set) var isFinished = false

    var hasContent: Bool { !text.isEmpty || !thinking.isEmpty || !toolCalls.isEmpty }

    mutating func consume(_ event: ServerSentEvent) throws -> [LLMDelta] {
        let data = event.data
        // Only a short payload can be the end marker: Foundation's trimming (which bridges to
        // NSString) stays off the path of every chunk; the JSON parser skips whitespace itself.
        if data.utf8.count <= 32, data.trimmingCharacters(in: .whitespacesAndNewlines) == "[DONE]" {
            isFinished = true
            return []
        }
        guard let chunk = JSONValue.parse(data) else {
            throw LLMError.invalidResponse("unreadable chat.completion.chunk")
        }
        if let error = chunk["error"], error != .null { throw Self.streamError(error) }
        if let id = chunk["id"]?.stringValue, !id.isEmpty { responseID = id }
        if let model = chunk["model"]?.stringValue, !model.isEmpty { self.model = model }
        if let usage = chunk["usage"], usage.objectValue != nil { self.usage = Self.usage(from: usage) }
        guard let choice = chunk["choices"]?.arrayValue?.first else { return [] }

        var deltas: [LLMDelta] = []
        let delta = choice["delta"]
        // `reasoning_content` (DeepSeek, vLLM, …) or `reasoning` (OpenRouter, Ollama) carry thinking.
        if let reasoning = (delta?["reasoning_content"] ?? delta?["reasoning"])?.stringValue, !reasoning.isEmpty {
            thinking += reasoning
            deltas.append(.thinking(reasoning))
        }
        if let content = delta?["content"]?.stringValue, !content.isEmpty {
            text += content
            deltas.append(.text(content))
        }
        for fragment in delta?["tool_calls"]?.arrayValue ?? [] {
            merge(fragment)
        }
        if let reason = choice["finish_reason"]?.stringValue { finishReason = reason }
        return deltas
    }

    private mutating func merge(_ fragment: JSONValue) {
        let id = fragment["id"]?.stringValue ?? ""
        let function = fragment["function"]
        let slot: Int
        if let index = fragment["index"]?.intValue, let existing = slots[index] {
            slot = existing
        } else if fragment["index"]?.intValue == nil, id.isEmpty, !toolCalls.isEmpty {
            slot = toolCalls.count - 1  // index-less continuation (some compatible servers)
        } else {
            toolCalls.append(PartialToolCall(id: id, name: ""))
            slot = toolCalls.count - 1
            if let index = fragment["index"]?.intValue { slots[index] = slot }
        }
        if !id.isEmpty { toolCalls[slot].id = id }
        if let name = function?["name"]?.stringValue, !name.isEmpty { toolCalls[slot].name = name }
        if let arguments = function?["arguments"]?.stringValue { toolCalls[slot].argumentText += arguments }
    }

    func response() throws -> LLMResponse {
        guard isFinished || finishReason != nil else {
            throw LLMError.network("stream ended before the completion finished")
        }
        return LLMResponse(
            text: text, thinking: thinking, toolCalls: toolCalls.finishedCalls(), usage: usage,
            finishReason: finishReason, responseID: responseID, model: model)
    }

    /// `prompt_tokens` includes the cached part, which is reported again as `cacheReadTokens`.
    static func usage(from json: JSONValue) -> Usage {
        Usage(
            inputTokens: json["prompt_tokens"]?.intValue ?? 0,
            outputTokens: json["completion_tokens"]?.intValue ?? 0,
            cacheReadTokens: json["prompt_tokens_details"]?["cached_tokens"]?.intValue ?? 0)
    }

    /// An error object sent in place of a chunk after the stream had started.
    static func streamError(_ error: JSONValue) -> LLMError {
        let message = error["message"]?.stringValue ?? error.stringValue ?? "provider stream error"
        let kind = [error["type"]?.stringValue, error["code"]?.stringValue].compactMap { $0 }.joined(separator: " ")
        if kind.contains("rate_limit") { return .rateLimited(retryAfter: nil) }
        if kind.contains("invalid_request") { return .badRequest(status: 400, detail: message) }
        if kind.contains("authentication") || kind.contains("invalid_api_key") { return .unauthorized(status: 401) }
        return .server(status: 500)
    }
}
