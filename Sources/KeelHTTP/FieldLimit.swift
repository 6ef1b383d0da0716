import Foundation
import KeelCore
import KeelServices

/// A request body whose field sizes are checked right after decoding (by `RequestDecoding`), so
/// every route that reads it gets the same limits.
protocol LimitedInput {
    func checkLimits() throws
}

/// The checks `LimitedInput` bodies are written with; each failure is a 400 `input_too_large`
/// naming the field and its limit.
enum FieldLimit {
    static func characters(_ value: String?, _ field: String, max: Int) throws {
        guard let value, value.unicodeScalars.count > max else { return }
        throw tooLarge("\(field) exceeds \(max) characters")
    }

    static func bytes(_ value: String?, _ field: String, max: Int) throws {
        guard let value, value.utf8.count > max else { return }
        throw tooLarge("\(field) exceeds \(max) bytes")
    }

    static func count<Element>(_ values: [Element]?, _ field: String, max: Int) throws {
        guard let values, values.count > max else { return }
        throw tooLarge("\(field) has \(values.count) items; at most \(max) are allowed")
    }

    /// A free-form JSON value, measured as compact JSON text.
    static func jsonBytes(_ value: JSONValue?, _ field: String, max: Int) throws {
        guard let value else { return }
        let size = (try? KeelJSON.encoder.encode(value).count) ?? Int.max
        guard size > max else { return }
        throw tooLarge("\(field) exceeds \(max) bytes as JSON")
    }

    static func tags(_ tags: [String]?, _ field: String = "tags") throws {
        try count(tags, field, max: InputLimits.tags)
        for (index, tag) in (tags ?? []).enumerated() {
            try characters(tag, "\(field)[\(index)]", max: InputLimits.tagCharacters)
        }
    }

    static func capabilities(_ refs: [CapabilityRefInput]?) throws {
        try count(refs, "capabilities", max: InputLimits.capabilities)
        for (index, input) in (refs ?? []).enumerated() {
            try characters(input.value.ref, "capabilities[\(index)].ref", max: InputLimits.capabilityRefCharacters)
            try jsonBytes(input.value.config, "capabilities[\(index)].config", max: InputLimits.capabilityConfigBytes)
        }
    }

    static func tools(_ tools: [ToolDefinition]?) throws {
        try count(tools, "tools", max: InputLimits.tools)
        for (index, tool) in (tools ?? []).enumerated() {
            try characters(tool.type, "tools[\(index)].type", max: InputLimits.toolTypeCharacters)
            try characters(tool.name, "tools[\(index)].name", max: InputLimits.toolNameCharacters)
            try bytes(tool.description, "tools[\(index)].description", max: InputLimits.toolDescriptionBytes)
            try jsonBytes(tool.parameters, "tools[\(index)].parameters", max: InputLimits.toolParametersBytes)
        }
    }

    private static func tooLarge(_ message: String) -> APIError {
        APIError.badRequest(message, code: "input_too_large")
    }
}
