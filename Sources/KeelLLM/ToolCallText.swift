import Foundation
import KeelCore

/// Text conversions for tool calls that all providers need.
enum ToolCallText {
    /// Parses streamed argument text. Empty text means no arguments; text that is not a JSON
    /// object is kept verbatim under `_raw` rather than dropped, so the tool (or the model, when
    /// it sees the error) can still tell what was sent. So is an object nested deeper than
    /// `JSONNesting.maxDepth`: arguments are attacker-controlled (prompt injection), and such a
    /// value, once stored in the session's events, could not be read back.
    static func arguments(from text: String) -> JSONValue {
        if text.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty { return [:] }
        if JSONNesting.depth(of: text) <= JSONNesting.maxDepth, let value = JSONValue.parse(text), case .object = value {
            return value
        }
        return ["_raw": .string(text)]
    }

    /// Arguments a provider sent already parsed (Gemini's `args`), held to the same depth limit.
    static func arguments(parsed value: JSONValue) -> JSONValue {
        guard value.isTooDeep else { return value }
        return ["_raw": .string("arguments nested deeper than \(JSONNesting.maxDepth) levels were dropped")]
    }

    /// What the model is shown as a tool's output: the error, a string result as-is (quoting it
    /// as JSON would only add noise), or the JSON text of any other result.
    static func result(_ result: JSONValue?, error: String?) -> String {
        if let error { return error }
        switch result {
        case .none: return "null"
        case .string(let text): return text
        case .some(let value): return value.jsonString
        }
    }

    /// Maps each tool call id in the history to its tool name. Providers that key tool results by
    /// name (Gemini) need it; later calls win if an id was ever reused.
    static func namesByCallID(in messages: [Message]) -> [String: String] {
        var names: [String: String] = [:]
        for message in messages where message.role == .agent {
            for call in message.toolCalls { names[call.id] = call.name }
        }
        return names
    }

    /// A placeholder for an uploaded image: drivers cannot fetch stored files themselves, so the
    /// engine is expected to inline images; if it did not, the model at least learns one existed.
    static func imageFilePlaceholder(imageID: String, filename: String?) -> String {
        "[image file \(filename ?? imageID)]"
    }
}
