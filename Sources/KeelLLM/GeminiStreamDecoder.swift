import Foundation
import KeelCore

/// Decodes `streamGenerateContent?alt=sse` events: every `data:` is a whole
/// `GenerateContentResponse` holding only the new parts, with cumulative `usageMetadata`.
/// There is no end marker; the final chunk carries `finishReason`.
struct GeminiStreamDecoder: ProviderStreamDecoder {
    private var text = ""
    private var thinking = ""
    private var signature: String?
    private var toolCalls: [ToolCall] = []
    private var finishReason: String?
    private var responseID: String?
    private var model: String?
    private var usage = Usage()

    var hasContent: Bool { !text.isEmpty || !thinking.isEmpty || !toolCalls.isEmpty }
    var isFinished: Bool { false }

    mutating func consume(_ event: ServerSentEvent) throws -> [LLMDelta] {
        guard let chunk = JSONValue.parse(event.data) else {
            throw LLMError.invalidResponse("unreadable GenerateContentResponse")
        }
        if let error = chunk["error"] {
            let message = error["message"]?.stringValue ?? "provider stream error"
            throw ProviderErrorMapping.error(
                status: error["code"]?.intValue ?? 500, body: message, retryAfter: nil, secret: "")
        }
        if let id = chunk["responseId"]?.stringValue { responseID = id }
        if let version = chunk["modelVersion"]?.stringValue { model = version }
        if let metadata = chunk["usageMetadata"] { usage = Self.usage(from: metadata) }
        if let blocked = chunk["promptFeedback"]?["blockReason"]?.stringValue { finishReason = blocked }
        guard let candidate = chunk["candidates"]?.arrayValue?.first else { return [] }

        var deltas: [LLMDelta] = []
        for part in candidate["content"]?["parts"]?.arrayValue ?? [] {
            if let thoughtSignature = part["thoughtSignature"]?.stringValue { signature = thoughtSignature }
            if let call = part["functionCall"] {
                // Gemini calls carry no id (or only sometimes): invent ones unique across the session.
                let given = call["id"]?.stringValue ?? ""
                let id = given.isEmpty ? RandomHex.callID(notIn: Set(toolCalls.map(\.id))) : given
                toolCalls.append(
                    ToolCall(
                        id: id, name: call["name"]?.stringValue ?? "", arguments: ToolCallText.arguments(parsed: call["args"] ?? [:]),
                        signature: part["thoughtSignature"]?.stringValue))
            } else if let fragment = part["text"]?.stringValue, !fragment.isEmpty {
                if part["thought"]?.boolValue == true {
                    thinking += fragment
                    deltas.append(.thinking(fragment))
                } else {
                    text += fragment
                    deltas.append(.text(fragment))
                }
            }
        }
        if let reason = candidate["finishReason"]?.stringValue { finishReason = reason }
        return deltas
    }

    func response() throws -> LLMResponse {
        guard finishReason != nil else {
            throw LLMError.network("stream ended before a finishReason")
        }
        return LLMResponse(
            text: text, thinking: thinking, thinkingSignature: signature, toolCalls: toolCalls, usage: usage,
            finishReason: finishReason, responseID: responseID, model: model)
    }

    /// Thought tokens are billed as output, so they are counted there.
    static func usage(from json: JSONValue) -> Usage {
        Usage(
            inputTokens: json["promptTokenCount"]?.intValue ?? 0,
            outputTokens: (json["candidatesTokenCount"]?.intValue ?? 0) + (json["thoughtsTokenCount"]?.intValue ?? 0),
            cacheReadTokens: json["cachedContentTokenCount"]?.intValue ?? 0)
    }
}
