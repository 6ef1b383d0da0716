import Foundation
import KeelCore

/// Attribute names used on turn spans: the Everruns seed names plus the current Gen-AI semconv
/// names where they differ, and the Langfuse / OpenInference extras.
enum TraceKey {
    static let operationName = "gen_ai.operation.name"
    static let system = "gen_ai.system"
    static let providerName = "gen_ai.provider.name"
    static let requestModel = "gen_ai.request.model"
    static let responseModel = "gen_ai.response.model"
    static let responseID = "gen_ai.response.id"
    static let finishReasons = "gen_ai.response.finish_reasons"
    static let inputTokens = "gen_ai.usage.input_tokens"
    static let outputTokens = "gen_ai.usage.output_tokens"
    static let cacheReadTokens = "gen_ai.usage.cache_read_tokens"
    static let cacheReadInputTokens = "gen_ai.usage.cache_read.input_tokens"
    static let cacheCreationTokens = "gen_ai.usage.cache_creation_tokens"
    static let cacheCreationInputTokens = "gen_ai.usage.cache_creation.input_tokens"
    static let outputType = "gen_ai.output.type"
    static let conversationID = "gen_ai.conversation.id"
    static let agentID = "gen_ai.agent.id"
    static let agentName = "gen_ai.agent.name"
    static let toolName = "gen_ai.tool.name"
    static let toolCallID = "gen_ai.tool.call.id"
    static let toolType = "gen_ai.tool.type"
    static let toolSuccess = "tool.success"
    static let toolStatus = "tool.status"
    static let turnID = "turn.id"
    static let turnIterations = "turn.iterations"
    static let turnStatus = "turn.status"
    static let reasonIteration = "reason.iteration"
    static let errorType = "error.type"
    static let durationMS = "duration_ms"
    static let timeToFirstTokenMS = "time_to_first_token_ms"
    static let timeToFirstChunk = "gen_ai.response.time_to_first_chunk"
    static let openInferenceKind = "openinference.span.kind"
    static let sessionID = "session.id"
    static let langfuseSessionID = "langfuse.session.id"
    static let langfuseTraceName = "langfuse.trace.name"
    static let langfuseMetadataPrefix = "langfuse.trace.metadata."
    // Content (only with capture on).
    static let inputMessages = "gen_ai.input.messages"
    static let outputMessages = "gen_ai.output.messages"
    static let toolArguments = "gen_ai.tool.call.arguments"
    static let toolResult = "gen_ai.tool.call.result"
    static let inputValue = "input.value"
    static let inputMimeType = "input.mime_type"
    static let outputValue = "output.value"
    static let outputMimeType = "output.mime_type"

    /// Every attribute that can carry message content.
    static let contentKeys: Set<String> = [
        inputMessages, outputMessages, toolArguments, toolResult, inputValue, outputValue,
        "gen_ai.system_instructions",
    ]
}

/// Ordered attributes with unique keys (a later `set` replaces the earlier value in place).
struct TraceAttributeList: Sendable {
    private(set) var items: [(key: String, value: AttributeValue)] = []

    mutating func set(_ key: String, _ value: AttributeValue?) {
        guard let value else { return }
        if let index = items.firstIndex(where: { $0.key == key }) {
            items[index].value = value
        } else {
            items.append((key, value))
        }
    }

    mutating func set(_ key: String, string: String?) {
        set(key, string.map(AttributeValue.string))
    }

    mutating func set(_ key: String, int: Int?) {
        set(key, int.map { AttributeValue.int(Int64($0)) })
    }

    mutating func merge(_ other: TraceAttributeList) {
        for item in other.items { set(item.key, item.value) }
    }

    func contains(_ key: String) -> Bool { items.contains { $0.key == key } }

    /// Token usage under both the seed and the current semconv names (cache counts when non-zero).
    mutating func setUsage(_ usage: Usage) {
        set(TraceKey.inputTokens, int: usage.inputTokens)
        set(TraceKey.outputTokens, int: usage.outputTokens)
        if usage.cacheReadTokens > 0 {
            set(TraceKey.cacheReadTokens, int: usage.cacheReadTokens)
            set(TraceKey.cacheReadInputTokens, int: usage.cacheReadTokens)
        }
        if usage.cacheCreationTokens > 0 {
            set(TraceKey.cacheCreationTokens, int: usage.cacheCreationTokens)
            set(TraceKey.cacheCreationInputTokens, int: usage.cacheCreationTokens)
        }
    }

    /// `gen_ai.system` as the event names the provider, `gen_ai.provider.name` as semconv does.
    mutating func setProvider(_ provider: String?) {
        guard let provider, !provider.isEmpty else { return }
        set(TraceKey.system, string: provider)
        set(TraceKey.providerName, string: TraceIDs.semconvProviderName(provider))
    }

    /// Time to first token as milliseconds (seed) and seconds (`gen_ai.response.time_to_first_chunk`).
    mutating func setTimeToFirstToken(milliseconds: Int?) {
        guard let milliseconds else { return }
        set(TraceKey.timeToFirstTokenMS, int: milliseconds)
        set(TraceKey.timeToFirstChunk, .double(Double(milliseconds) / 1000))
    }
}

/// Span and trace ids derived from public ids, and small event-data readers.
enum TraceIDs {
    /// The last `count` bytes of the hex part of a `{prefix}_{hex}` id. Ids of another shape get
    /// a stable hash instead, so every id still maps to the same bytes each time.
    static func bytes(ofPublicID id: String, count: Int) -> [UInt8] {
        let hex = id.split(separator: "_").last.map(String.init) ?? id
        if hex.utf8.count % 2 == 0, let bytes = HexID.bytes(fromHex: hex), bytes.count >= count,
            bytes.suffix(count).contains(where: { $0 != 0 })
        {
            return Array(bytes.suffix(count))
        }
        var out: [UInt8] = []
        var seed: UInt64 = 0xcbf2_9ce4_8422_2325
        while out.count < count {
            var hash = seed
            for byte in id.utf8 {
                hash ^= UInt64(byte)
                hash = hash &* 0x100_0000_01b3
            }
            for shift in stride(from: 56, through: 0, by: -8) where out.count < count {
                out.append(UInt8(truncatingIfNeeded: hash >> UInt64(shift)))
            }
            seed = hash ^ 0x9e37_79b9_7f4a_7c15
        }
        if out.allSatisfy({ $0 == 0 }) { out[count - 1] = 1 }
        return out
    }

    /// A W3C id of `length` hex digits that is not all zeros, as bytes.
    static func w3cID(_ hex: String?, length: Int) -> [UInt8]? {
        guard let hex, hex.utf8.count == length, let bytes = HexID.bytes(fromHex: hex),
            bytes.count == length / 2, bytes.contains(where: { $0 != 0 })
        else { return nil }
        return bytes
    }

    /// `gen_ai.provider.name` for a Keel provider type (Google AI Studio is `gcp.gemini`).
    static func semconvProviderName(_ provider: String) -> String {
        provider == "gemini" ? "gcp.gemini" : provider
    }

    static func milliseconds(from start: Date, to end: Date) -> Int {
        max(0, Int((end.timeIntervalSince(start) * 1000).rounded()))
    }

    /// A scalar metadata value as an attribute; `nil` for null, arrays and objects.
    static func scalarAttribute(_ value: JSONValue) -> AttributeValue? {
        switch value {
        case .string(let text): .string(text)
        case .bool(let flag): .bool(flag)
        case .number(let number):
            if number.rounded() == number, abs(number) < 9.0e15 { .int(Int64(number)) } else { .double(number) }
        case .null, .array, .object: nil
        }
    }

    /// Metadata keys must be `[A-Za-z0-9_-]{1,64}` (the API enforces it; re-checked so a key can
    /// never reach outside the `langfuse.trace.metadata.` prefix).
    static func isValidMetadataKey(_ key: String) -> Bool {
        (1...64).contains(key.utf8.count)
            && key.utf8.allSatisfy { byte in
                (0x30...0x39).contains(byte) || (0x41...0x5A).contains(byte) || (0x61...0x7A).contains(byte)
                    || byte == 0x5F || byte == 0x2D
            }
    }
}

/// Converts conversation messages to the Gen-AI semconv message shape
/// (`{role, parts: [{type: text, content} | {type: tool_call, id, name, arguments} |
/// {type: tool_call_response, id, result} | …]}`), serialised as JSON strings.
enum TraceContent {
    static func role(_ role: MessageRole) -> String {
        switch role {
        case .system: "system"
        case .user: "user"
        case .agent: "assistant"
        case .toolResult: "tool"
        }
    }

    static func part(_ part: ContentPart) -> JSONValue {
        switch part {
        case .text(let text):
            return ["type": "text", "content": .string(text)]
        case .image(let url, _, let mediaType):
            // Inline image bytes are never copied into a span; a URL is.
            var object: [String: JSONValue] = ["modality": "image"]
            if let url {
                object["type"] = "uri"
                object["uri"] = .string(url)
            } else {
                object["type"] = "image"
            }
            if let mediaType { object["mime_type"] = .string(mediaType) }
            return .object(object)
        case .imageFile(let imageID, _):
            return ["type": "file", "modality": "image", "file_id": .string(imageID)]
        case .toolCall(let call):
            return ["type": "tool_call", "id": .string(call.id), "name": .string(call.name), "arguments": call.arguments]
        case .toolResult(let callID, let result, let error):
            return ["type": "tool_call_response", "id": .string(callID), "result": toolResult(result, error: error)]
        }
    }

    static func toolResult(_ result: JSONValue?, error: String?) -> JSONValue {
        if let result { return result }
        if let error { return ["error": .string(error)] }
        return .null
    }

    static func message(_ message: Message) -> JSONValue {
        ["role": .string(role(message.role)), "parts": .array(message.content.map(part))]
    }

    static func inputMessages(_ history: [Message]) -> String {
        JSONValue.array(history.filter { $0.role != .system }.map(message)).jsonString
    }

    /// The model's answer from `llm.generation`'s `output{text, tool_calls}`, with the iteration's
    /// thinking as a reasoning part when there was any.
    static func outputMessages(
        output: LLMGenerationPayload.Output, thinking: String?, finishReasons: [String]
    ) -> String? {
        var parts: [JSONValue] = []
        if let thinking, !thinking.isEmpty { parts.append(["type": "reasoning", "content": .string(thinking)]) }
        if !output.text.isEmpty {
            parts.append(["type": "text", "content": .string(output.text)])
        }
        let calls = output.toolCalls
        for call in calls {
            parts.append([
                "type": "tool_call", "id": .string(call.id), "name": .string(call.name), "arguments": call.arguments,
            ])
        }
        guard !parts.isEmpty else { return nil }
        let finish = calls.isEmpty ? semconvFinishReason(finishReasons.first) : "tool_call"
        let message: JSONValue = ["role": "assistant", "parts": .array(parts), "finish_reason": .string(finish)]
        return JSONValue.array([message]).jsonString
    }

    /// Provider finish reasons mapped onto semconv's `stop | length | content_filter | tool_call | error`.
    static func semconvFinishReason(_ raw: String?) -> String {
        switch raw?.lowercased() {
        case nil, "stop", "end_turn", "stop_sequence", "completed": "stop"
        case "length", "max_tokens", "max_output_tokens", "incomplete": "length"
        case "content_filter", "safety", "recitation", "refusal", "blocklist", "prohibited_content": "content_filter"
        case "tool_calls", "tool_use", "tool_call", "function_call": "tool_call"
        case "error": "error"
        case let other?: other
        }
    }

    static func thinkingOutput(_ thinking: String) -> String {
        JSONValue.array([["role": "assistant", "parts": [["type": "reasoning", "content": .string(thinking)]]]]).jsonString
    }

    /// Appends a message to a session's history. A tool result joins the run of results after the
    /// agent message that asked for it, in the order of that message's calls (parallel tools finish
    /// in any order, but the model sees their results in call order).
    static func append(_ message: Message, to history: inout [Message], limit: Int) {
        if message.role == .toolResult, case .toolResult(let callID, _, _)? = message.content.first {
            var start = history.count
            while start > 0, history[start - 1].role == .toolResult { start -= 1 }
            if start > 0 {
                var order: [String: Int] = [:]
                for (index, call) in history[start - 1].toolCalls.enumerated() where order[call.id] == nil {
                    order[call.id] = index
                }
                let position = { (message: Message) -> Int in
                    guard case .toolResult(let id, _, _)? = message.content.first else { return Int.max }
                    return order[id] ?? Int.max
                }
                let mine = order[callID] ?? Int.max
                var index = history.count
                while index > start, position(history[index - 1]) > mine { index -= 1 }
                history.insert(message, at: index)
            } else {
                history.append(message)
            }
        } else {
            history.append(message)
        }
        if history.count > limit { history.removeFirst(history.count - limit) }
    }
}
