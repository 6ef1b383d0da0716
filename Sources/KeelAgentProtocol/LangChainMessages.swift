import Foundation
import KeelCore

/// Keel messages in LangChain's serialized shape (`human`, `ai`, `tool`), which LangGraph
/// clients and chat UIs render, and LangChain input back to a Keel user message.
public enum LangChainMessages {
    /// The text of one run's input, as for a message sent through `/v1` (1 MiB).
    public static let maxInputBytes = 1024 * 1024

    /// The conversation as thread `values` messages. Tool results name their tool (taken from
    /// the call that precedes them) and carry `status: "error"` when the tool failed.
    public static func encode(_ messages: [Message]) -> [JSONValue] {
        var toolNames: [String: String] = [:]
        var encoded: [JSONValue] = []
        encoded.reserveCapacity(messages.count)
        for message in messages {
            for call in message.toolCalls { toolNames[call.id] = call.name }
            encoded.append(contentsOf: encode(message, toolNames: toolNames))
        }
        return encoded
    }

    static func encode(_ message: Message, toolNames: [String: String]) -> [JSONValue] {
        switch message.role {
        case .user, .system:
            let type = message.role == .user ? "human" : "system"
            return [["type": .string(type), "id": .string(message.id), "content": content(message), "additional_kwargs": [:],
                     "response_metadata": [:], "name": .null]]
        case .agent:
            return [ai(id: message.id, text: message.text, toolCalls: message.toolCalls)]
        case .toolResult:
            return message.content.compactMap { part -> JSONValue? in
                guard case .toolResult(let callID, let result, let error) = part else { return nil }
                var object: [String: JSONValue] = [
                    "type": "tool", "id": .string(message.id), "tool_call_id": .string(callID),
                    "name": toolNames[callID].map(JSONValue.string) ?? .null,
                    "content": .string(error ?? result.map(text(of:)) ?? ""),
                    "status": .string(error == nil ? "success" : "error"), "additional_kwargs": [:], "response_metadata": [:],
                ]
                if error != nil { object["artifact"] = .null }
                return .object(object)
            }
        }
    }

    /// An `ai` message (`AIMessageChunk` when `chunk`), its tool calls in LangChain's shape.
    public static func ai(id: String, text: String, toolCalls: [ToolCall], chunk: Bool = false) -> JSONValue {
        var object: [String: JSONValue] = [
            "type": .string(chunk ? "AIMessageChunk" : "ai"), "id": .string(id), "content": .string(text),
            "tool_calls": .array(toolCalls.map { call in
                ["name": .string(call.name), "args": call.arguments, "id": .string(call.id), "type": "tool_call"]
            }),
            "invalid_tool_calls": [], "additional_kwargs": [:], "response_metadata": [:], "name": .null,
        ]
        if chunk {
            object["tool_call_chunks"] = .array(toolCalls.enumerated().map { index, call in
                ["name": .string(call.name), "args": .string(call.arguments.jsonString), "id": .string(call.id),
                 "index": .number(Double(index)), "type": "tool_call_chunk"]
            })
        }
        return .object(object)
    }

    static func content(_ message: Message) -> JSONValue {
        if message.content.count == 1, let text = message.content.first?.text { return .string(text) }
        return .array(message.content.compactMap { part in
            part.text.map { ["type": "text", "text": .string($0)] }
        })
    }

    static func text(of value: JSONValue) -> String {
        if let string = value.stringValue { return string }
        return value.jsonString
    }

    /// The human messages of a run's `input` (`{"messages": [...]}`, each `{"type"|"role":
    /// "human"|"user", "content": string | [{"type":"text","text":…}]}`), as one Keel user message.
    /// Anything else is refused with the path of the offending part.
    public static func userMessage(fromInput input: JSONValue) throws(AgentProtocolError) -> Message {
        guard let object = input.objectValue else { throw .invalid("input must be an object with a 'messages' list") }
        let raw: [JSONValue]
        switch object["messages"] {
        case .array(let list): raw = list
        case .object(let single): raw = [.object(single)]
        case .string(let text): raw = [["type": "human", "content": .string(text)]]
        default: throw .invalid("input.messages must be a list of messages")
        }
        guard !raw.isEmpty else { throw .invalid("input.messages must contain at least one message") }
        var parts: [ContentPart] = []
        for (index, entry) in raw.enumerated() {
            guard let message = entry.objectValue else { throw .invalid("input.messages[\(index)] must be an object") }
            let kind = message["type"]?.stringValue ?? message["role"]?.stringValue ?? "human"
            guard kind == "human" || kind == "user" else {
                throw .invalid("input.messages[\(index)]: only human messages can be sent as input (got '\(kind.prefix(40))')")
            }
            switch message["content"] {
            case .string(let text):
                parts.append(.text(text))
            case .array(let blocks):
                for (blockIndex, block) in blocks.enumerated() {
                    if let text = block.stringValue ?? (block["type"]?.stringValue == "text" ? block["text"]?.stringValue : nil) {
                        parts.append(.text(text))
                    } else {
                        throw .invalid("input.messages[\(index)].content[\(blockIndex)] must be a text block")
                    }
                }
            default:
                throw .invalid("input.messages[\(index)].content must be a string or a list of text blocks")
            }
        }
        guard parts.contains(where: { !($0.text ?? "").isEmpty }) else {
            throw .invalid("input.messages must contain some text")
        }
        let bytes = parts.reduce(0) { $0 + ($1.text?.utf8.count ?? 0) }
        guard bytes <= maxInputBytes else { throw .invalid("input.messages text exceeds \(maxInputBytes) bytes") }
        return Message(role: .user, content: parts)
    }
}
