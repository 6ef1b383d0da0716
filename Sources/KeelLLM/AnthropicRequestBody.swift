import KeelCore

/// Builds the Messages API request body from the provider-neutral request.
enum AnthropicRequestBody {
    /// `max_tokens` is mandatory for Anthropic; this applies when the request sets none.
    static let defaultMaxTokens = 4096

    static func make(for request: LLMRequest) -> JSONValue {
        var maxTokens = request.maxOutputTokens ?? defaultMaxTokens
        var body: [String: JSONValue] = [
            "model": .string(request.model),
            "messages": .array(messages(for: request.messages)),
            "stream": true,
        ]
        let system = ([request.systemPrompt] + request.messages.filter { $0.role == .system }.map(\.text))
            .filter { !$0.isEmpty }.joined(separator: "\n\n")
        if !system.isEmpty { body["system"] = .string(system) }
        if !request.tools.isEmpty {
            body["tools"] = .array(
                request.tools.map { tool in
                    ["name": .string(tool.name), "description": .string(tool.description), "input_schema": tool.parameters]
                })
            if !request.parallelToolCalls {
                body["tool_choice"] = ["type": "auto", "disable_parallel_tool_use": true]
            }
        }
        if let budget = ReasoningBudget.tokens(for: request.reasoningEffort), !isInsideToolLoop(request.messages) {
            body["thinking"] = ["type": "enabled", "budget_tokens": JSONValue(budget)]
            // The budget counts toward max_tokens and must stay below it; keep the answer's share.
            if maxTokens <= budget { maxTokens += budget }
        }
        body["max_tokens"] = JSONValue(maxTokens)
        return .object(body)
    }

    /// With thinking enabled, Anthropic requires the assistant turn that made the pending tool
    /// calls to start with its (signed) thinking block. `Message` does not carry thinking, so
    /// thinking is left off for the continuation of a tool loop rather than failing the call.
    static func isInsideToolLoop(_ messages: [Message]) -> Bool {
        messages.last?.role == .toolResult
    }

    static func messages(for messages: [Message]) -> [JSONValue] {
        var turns: [(role: String, blocks: [JSONValue])] = []
        for message in messages {
            let role: String
            switch message.role {
            case .system: continue  // folded into `system`
            case .user, .toolResult: role = "user"
            case .agent: role = "assistant"
            }
            let blocks = message.content.compactMap(block)
            guard !blocks.isEmpty else { continue }
            // Roles must alternate: a tool result followed by a user message becomes one turn.
            if let last = turns.indices.last, turns[last].role == role {
                turns[last].blocks += blocks
            } else {
                turns.append((role, blocks))
            }
        }
        return turns.map { ["role": .string($0.role), "content": .array($0.blocks)] }
    }

    private static func block(_ part: ContentPart) -> JSONValue? {
        switch part {
        case .text(let text):
            // The API rejects empty text blocks.
            return text.isEmpty ? nil : ["type": "text", "text": .string(text)]
        case .image(let url, let base64, let mediaType):
            if let base64 {
                return [
                    "type": "image",
                    "source": ["type": "base64", "media_type": .string(mediaType ?? "image/png"), "data": .string(base64)],
                ]
            }
            return url.map { ["type": "image", "source": ["type": "url", "url": .string($0)]] }
        case .imageFile(let imageID, let filename):
            return ["type": "text", "text": .string(ToolCallText.imageFilePlaceholder(imageID: imageID, filename: filename))]
        case .toolCall(let call):
            return ["type": "tool_use", "id": .string(call.id), "name": .string(call.name), "input": call.arguments]
        case .toolResult(let callID, let result, let error):
            return [
                "type": "tool_result", "tool_use_id": .string(callID),
                "content": .string(ToolCallText.result(result, error: error)), "is_error": .bool(error != nil),
            ]
        }
    }
}
