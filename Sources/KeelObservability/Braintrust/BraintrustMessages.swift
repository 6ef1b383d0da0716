import KeelCore

/// Converts Gen-AI semantic-convention messages (`{role, parts: [...]}`) to the OpenAI chat shape
/// Braintrust renders: `{role, content, tool_calls: [{id, type: "function", function: {name,
/// arguments}}]}`, tool results as `{role: "tool", tool_call_id, content}`. Everruns' own role
/// names map too (`agent` → `assistant`, `tool_result` → `tool`). Anything else is left as is.
enum BraintrustMessages {
    static func openAIShape(_ value: JSONValue) -> JSONValue {
        guard case .array(let messages) = value, !messages.isEmpty,
            messages.allSatisfy({ $0["role"]?.stringValue != nil })
        else { return value }
        var converted: [JSONValue] = []
        for message in messages {
            guard case .object(var object) = message else { return value }
            let role = mapRole(object["role"]?.stringValue ?? "user")
            object["role"] = .string(role)
            guard case .array(let parts)? = object.removeValue(forKey: "parts") else {
                converted.append(.object(object))
                continue
            }
            var texts: [String] = []
            var reasoning: [String] = []
            var toolCalls: [JSONValue] = []
            var others: [JSONValue] = []
            for part in parts {
                switch part["type"]?.stringValue {
                case "text":
                    texts.append(part["content"]?.stringValue ?? part["text"]?.stringValue ?? "")
                case "reasoning", "thinking":
                    reasoning.append(part["content"]?.stringValue ?? part["text"]?.stringValue ?? "")
                case "tool_call":
                    let arguments = part["arguments"].map { $0.stringValue ?? $0.jsonString } ?? "{}"
                    toolCalls.append([
                        "id": JSONValue(part["id"]?.stringValue), "type": "function",
                        "function": ["name": JSONValue(part["name"]?.stringValue), "arguments": .string(arguments)],
                    ])
                case "tool_call_response":
                    let response = part["response"] ?? part["result"] ?? .null
                    converted.append([
                        "role": "tool", "tool_call_id": JSONValue(part["id"]?.stringValue),
                        "content": .string(response.stringValue ?? response.jsonString),
                    ])
                default:
                    others.append(part)
                }
            }
            if texts.isEmpty && reasoning.isEmpty && toolCalls.isEmpty && others.isEmpty { continue }
            if others.isEmpty {
                object["content"] = texts.isEmpty ? .null : .string(texts.joined(separator: "\n"))
            } else {
                object["content"] = .array(texts.map { ["type": "text", "text": .string($0)] } + others)
            }
            if !reasoning.isEmpty { object["reasoning"] = .string(reasoning.joined(separator: "\n")) }
            if !toolCalls.isEmpty { object["tool_calls"] = .array(toolCalls) }
            converted.append(.object(object))
        }
        return .array(converted)
    }

    /// Adds `gen_ai.system_instructions` (text, or semconv parts) as a leading system message.
    static func prependingSystem(_ instructions: JSONValue, to messages: JSONValue) -> JSONValue {
        guard case .array(let list) = messages, list.first?["role"]?.stringValue != "system" else { return messages }
        let text: String =
            switch instructions {
            case .string(let text): text
            case .array(let parts):
                parts.map { $0["content"]?.stringValue ?? $0.stringValue ?? $0.jsonString }.joined(separator: "\n")
            default: instructions.jsonString
            }
        return .array([["role": "system", "content": .string(text)]] + list)
    }

    static func mapRole(_ role: String) -> String {
        switch role {
        case "agent": "assistant"
        case "tool_result": "tool"
        default: role
        }
    }
}
