import Foundation
import KeelCore

/// Every size limit on request input, in one place: `docs/api-limits.md` lists the same numbers
/// and the OpenAPI document carries them as `maxLength`/`maxItems`. Text limits in characters count
/// Unicode scalars (what JSON Schema's `maxLength` counts); the large free-text fields count UTF-8
/// bytes, since they bound storage and what is sent to a model.
enum InputLimits {
    /// Whole request body (RequestDecoding); system prompts may be up to 1 MB of it.
    static let bodyBytes = RequestDecoding.maxBodyBytes
    /// JSON nesting below the body's top-level object (see `JSONNesting`).
    static let nestingDepth = JSONNesting.maxDepth

    // Agents and sessions
    static let agentNameCharacters = 64
    static let displayNameBytes = 2 * 1024
    static let titleBytes = 2 * 1024
    static let descriptionBytes = 10 * 1024
    static let systemPromptBytes = 1024 * 1024
    static let localeCharacters = 35  // the longest well-formed BCP 47 tags in practice
    static let modelReferenceCharacters = 200
    static let idCharacters = 100  // agent/harness ids and names used as references
    static let tags = 50
    static let tagCharacters = 64
    static let capabilities = 250
    static let capabilityRefCharacters = 100
    static let capabilityConfigBytes = 64 * 1024  // as compact JSON
    static let tools = 128
    static let toolNameCharacters = 64
    static let toolTypeCharacters = 32
    static let toolDescriptionBytes = 10 * 1024
    static let toolParametersBytes = 64 * 1024  // as compact JSON
    static let iterations = 1...1000

    // Messages
    static let contentParts = 100
    static let messageTextBytes = 1024 * 1024  // all text parts together
    static let imageURLCharacters = 8 * 1024
    static let mediaTypeCharacters = 100
    static let fileNameCharacters = 255
    static let controlsBytes = 64 * 1024  // as compact JSON
    static let roleCharacters = 32
}

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
