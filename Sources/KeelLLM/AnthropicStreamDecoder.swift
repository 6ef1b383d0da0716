import Foundation
import KeelCore

/// Decodes Messages API stream events: `message_start`, then per content block
/// `content_block_start` / `content_block_delta`* / `content_block_stop`, then `message_delta`
/// (stop reason, final output tokens) and `message_stop`; `ping`s and an `error` event may appear
/// anywhere. Tool input arrives as `input_json_delta` fragments of JSON text.
struct AnthropicStreamDecoder: ProviderStreamDecoder {
    private enum Block {
        case text
        case thinking
        case toolUse(PartialToolCall)
        case other
    }

    private var text = ""
    private var thinking = ""
    private var signature = ""
    /// Content blocks by their stream `index`, in order of appearance.
    private var blocks: [(index: Int, block: Block)] = []
    private var usage = Usage()
    private var stopReason: String?
    private var responseID: String?
    private var model: String?
    private(set) var isFinished = false

    var hasContent: Bool {
        !text.isEmpty || !thinking.isEmpty || blocks.contains { if case .toolUse = $0.block { true } else { false } }
    }

    mutating func consume(_ event: ServerSentEvent) throws -> [LLMDelta] {
        guard let payload = JSONValue.parse(event.data) else {
            throw LLMError.invalidResponse("unreadable \(event.event ?? "stream") event")
        }
        switch payload["type"]?.stringValue ?? event.event ?? "" {
        case "message_start":
            let message = payload["message"]
            responseID = message?["id"]?.stringValue
            model = message?["model"]?.stringValue
            if let usage = message?["usage"] { apply(usage) }
        case "content_block_start":
            return startBlock(index: payload["index"]?.intValue ?? blocks.count, payload["content_block"] ?? [:])
        case "content_block_delta":
            return applyDelta(index: payload["index"]?.intValue ?? 0, payload["delta"] ?? [:])
        case "message_delta":
            if let reason = payload["delta"]?["stop_reason"]?.stringValue { stopReason = reason }
            if let usage = payload["usage"] { apply(usage) }
        case "message_stop":
            isFinished = true
        case "error":
            throw Self.streamError(payload["error"] ?? [:])
        default:
            break  // ping, content_block_stop and event types added later
        }
        return []
    }

    private mutating func startBlock(index: Int, _ block: JSONValue) -> [LLMDelta] {
        switch block["type"]?.stringValue {
        case "text":
            blocks.append((index, .text))
            return appendText(block["text"]?.stringValue ?? "")
        case "thinking":
            blocks.append((index, .thinking))
            return appendThinking(block["thinking"]?.stringValue ?? "")
        case "tool_use":
            let call = PartialToolCall(id: block["id"]?.stringValue ?? "", name: block["name"]?.stringValue ?? "")
            blocks.append((index, .toolUse(call)))
        default:
            blocks.append((index, .other))  // redacted_thinking, server tools: not surfaced
        }
        return []
    }

    private mutating func applyDelta(index: Int, _ delta: JSONValue) -> [LLMDelta] {
        switch delta["type"]?.stringValue {
        case "text_delta":
            return appendText(delta["text"]?.stringValue ?? "")
        case "thinking_delta":
            return appendThinking(delta["thinking"]?.stringValue ?? "")
        case "signature_delta":
            signature += delta["signature"]?.stringValue ?? ""
        case "input_json_delta":
            if let position = blocks.lastIndex(where: { $0.index == index }),
                case .toolUse(var call) = blocks[position].block
            {
                call.argumentText += delta["partial_json"]?.stringValue ?? ""
                blocks[position].block = .toolUse(call)
            }
        default:
            break
        }
        return []
    }

    private mutating func appendText(_ fragment: String) -> [LLMDelta] {
        guard !fragment.isEmpty else { return [] }
        text += fragment
        return [.text(fragment)]
    }

    private mutating func appendThinking(_ fragment: String) -> [LLMDelta] {
        guard !fragment.isEmpty else { return [] }
        thinking += fragment
        return [.thinking(fragment)]
    }

    /// `message_start` carries the input side, `message_delta` the cumulative output count; both
    /// may repeat fields, so whatever arrives last wins.
    private mutating func apply(_ json: JSONValue) {
        if let value = json["input_tokens"]?.intValue { usage.inputTokens = value }
        if let value = json["output_tokens"]?.intValue { usage.outputTokens = value }
        if let value = json["cache_read_input_tokens"]?.intValue { usage.cacheReadTokens = value }
        if let value = json["cache_creation_input_tokens"]?.intValue { usage.cacheCreationTokens = value }
    }

    func response() throws -> LLMResponse {
        guard isFinished || stopReason != nil else {
            throw LLMError.network("stream ended before message_stop")
        }
        let calls = blocks.compactMap { entry -> PartialToolCall? in
            if case .toolUse(let call) = entry.block { return call }
            return nil
        }
        return LLMResponse(
            text: text, thinking: thinking, thinkingSignature: signature.isEmpty ? nil : signature,
            toolCalls: calls.finishedCalls(), usage: usage, finishReason: stopReason, responseID: responseID,
            model: model)
    }

    /// Maps the `error` event's type to the status the same failure has as an HTTP answer.
    static func streamError(_ error: JSONValue) -> LLMError {
        let message = error["message"]?.stringValue ?? "provider stream error"
        switch error["type"]?.stringValue {
        case "rate_limit_error": return .rateLimited(retryAfter: nil)
        case "authentication_error": return .unauthorized(status: 401)
        case "permission_error": return .unauthorized(status: 403)
        case "invalid_request_error": return .badRequest(status: 400, detail: message)
        case "not_found_error": return .badRequest(status: 404, detail: message)
        case "request_too_large": return .badRequest(status: 413, detail: message)
        case "overloaded_error": return .server(status: 529)
        default: return .server(status: 500)  // api_error and anything new
        }
    }
}
