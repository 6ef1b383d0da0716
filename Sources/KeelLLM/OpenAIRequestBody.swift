import KeelCore

/// Builds the Chat Completions request body from the provider-neutral request.
enum OpenAIRequestBody {
    static func make(for request: LLMRequest) -> JSONValue {
        var body: [String: JSONValue] = [
            "model": .string(request.model),
            "messages": .array(messages(for: request)),
            "stream": true,
            // Without this the stream carries no token counts at all.
            "stream_options": ["include_usage": true],
        ]
        if !request.tools.isEmpty {
            body["tools"] = .array(request.tools.map(tool))
            // Only valid alongside tools; the API rejects it otherwise.
            body["parallel_tool_calls"] = .bool(request.parallelToolCalls)
        }
        if let effort = request.reasoningEffort, !effort.isEmpty {
            body["reasoning_effort"] = .string(effort)
        }
        if let maxOutputTokens = request.maxOutputTokens {
            body["max_completion_tokens"] = JSONValue(maxOutputTokens)
        }
        return .object(body)
    }

    static func tool(_ definition: ToolDefinition) -> JSONValue {
        [
            "type": "function",
            "function": [
                "name": .string(definition.name),
                "description": .string(definition.description),
                "parameters": definition.parameters,
            ],
        ]
    }

    static func messages(for request: LLMRequest) -> [JSONValue] {
        var messages: [JSONValue] = []
        if !request.systemPrompt.isEmpty {
            messages.append(["role": "system", "content": .string(request.systemPrompt)])
        }
        for message in request.messages {
            switch message.role {
            case .system:
                messages.append(["role": "system", "content": .string(message.text)])
            case .user:
                messages.append(["role": "user", "content": userContent(message.content)])
            case .agent:
                messages.append(assistantMessage(message))
            case .toolResult:
                // One `tool` message per result: the API pairs each with its call by id.
                for part in message.content {
                    guard case .toolResult(let callID, let result, let error) = part else { continue }
                    messages.append([
                        "role": "tool", "tool_call_id": .string(callID),
                        "content": .string(ToolCallText.result(result, error: error)),
                    ])
                }
            }
        }
        return messages
    }

    /// Plain text stays a string (the common, most compatible form); images need the part array.
    private static func userContent(_ parts: [ContentPart]) -> JSONValue {
        let hasImages = parts.contains { if case .image = $0 { true } else { false } }
        guard hasImages else {
            return .string(parts.compactMap(textOf).joined())
        }
        return .array(
            parts.compactMap { part -> JSONValue? in
                switch part {
                case .image(let url, let base64, let mediaType):
                    let source = url ?? "data:\(mediaType ?? "image/png");base64,\(base64 ?? "")"
                    return ["type": "image_url", "image_url": ["url": .string(source)]]
                default:
                    return textOf(part).map { ["type": "text", "text": .string($0)] }
                }
            })
    }

    private static func textOf(_ part: ContentPart) -> String? {
        switch part {
        case .text(let text): text
        case .imageFile(let imageID, let filename): ToolCallText.imageFilePlaceholder(imageID: imageID, filename: filename)
        default: nil
        }
    }

    private static func assistantMessage(_ message: Message) -> JSONValue {
        var object: [String: JSONValue] = ["role": "assistant"]
        let text = message.text
        let calls = message.toolCalls
        // `null` content is only valid next to tool calls.
        object["content"] = text.isEmpty && !calls.isEmpty ? .null : .string(text)
        if !calls.isEmpty {
            object["tool_calls"] = .array(
                calls.map { call in
                    [
                        "id": .string(call.id), "type": "function",
                        // The API wants the arguments as JSON *text*, not an object.
                        "function": ["name": .string(call.name), "arguments": .string(call.arguments.jsonString)],
                    ]
                })
        }
        return .object(object)
    }
}
