import Foundation
import KeelCore

/// Capability references arrive as `{ref, config}` objects or, as older clients send, plain ids.
struct CapabilityRefInput: Decodable {
    var value: CapabilityRef

    init(from decoder: any Decoder) throws {
        if let id = try? decoder.singleValueContainer().decode(String.self) {
            value = CapabilityRef(ref: id)
        } else {
            value = try CapabilityRef(from: decoder)
        }
    }
}

/// Body of `POST /v1/agents` and `PUT /v1/agents/{id}`.
struct AgentInput: Decodable {
    var id: String?
    var name: String
    var displayName: String?
    var description: String?
    var systemPrompt: String
    var defaultModelID: String?
    var harnessID: String?
    var harnessName: String?
    var tags: [String]?
    var capabilities: [CapabilityRefInput]?
    var tools: [ToolDefinition]?
    var maxIterations: Int?
    var parallelToolCalls: Bool?

    enum CodingKeys: String, CodingKey {
        case id, name
        case displayName = "display_name"
        case description
        case systemPrompt = "system_prompt"
        case defaultModelID = "default_model_id"
        case harnessID = "harness_id"
        case harnessName = "harness_name"
        case tags, capabilities, tools
        case maxIterations = "max_iterations"
        case parallelToolCalls = "parallel_tool_calls"
    }
}

/// Body of `PATCH /v1/agents/{id}`: every field optional.
struct AgentPatch: Decodable {
    var name: String?
    var displayName: String?
    var description: String?
    var systemPrompt: String?
    var defaultModelID: String?
    var tags: [String]?
    var capabilities: [CapabilityRefInput]?
    var tools: [ToolDefinition]?
    var maxIterations: Int?
    var parallelToolCalls: Bool?
    var status: AgentStatus?

    enum CodingKeys: String, CodingKey {
        case name
        case displayName = "display_name"
        case description
        case systemPrompt = "system_prompt"
        case defaultModelID = "default_model_id"
        case tags, capabilities, tools
        case maxIterations = "max_iterations"
        case parallelToolCalls = "parallel_tool_calls"
        case status
    }
}

extension AgentInput: LimitedInput {
    func checkLimits() throws {
        try FieldLimit.characters(id, "id", max: InputLimits.idCharacters)
        try FieldLimit.characters(name, "name", max: InputLimits.agentNameCharacters)
        try FieldLimit.bytes(displayName, "display_name", max: InputLimits.displayNameBytes)
        try FieldLimit.bytes(description, "description", max: InputLimits.descriptionBytes)
        try FieldLimit.bytes(systemPrompt, "system_prompt", max: InputLimits.systemPromptBytes)
        try FieldLimit.characters(defaultModelID, "default_model_id", max: InputLimits.modelReferenceCharacters)
        try FieldLimit.characters(harnessID, "harness_id", max: InputLimits.idCharacters)
        try FieldLimit.characters(harnessName, "harness_name", max: InputLimits.idCharacters)
        try FieldLimit.tags(tags)
        try FieldLimit.capabilities(capabilities)
        try FieldLimit.tools(tools)
    }
}

extension AgentPatch: LimitedInput {
    func checkLimits() throws {
        try FieldLimit.characters(name, "name", max: InputLimits.agentNameCharacters)
        try FieldLimit.bytes(displayName, "display_name", max: InputLimits.displayNameBytes)
        try FieldLimit.bytes(description, "description", max: InputLimits.descriptionBytes)
        try FieldLimit.bytes(systemPrompt, "system_prompt", max: InputLimits.systemPromptBytes)
        try FieldLimit.characters(defaultModelID, "default_model_id", max: InputLimits.modelReferenceCharacters)
        try FieldLimit.tags(tags)
        try FieldLimit.capabilities(capabilities)
        try FieldLimit.tools(tools)
    }
}

/// Field rules shared by agent and session inputs (the numbers live in `InputLimits`).
enum InputRules {
    static let maxNameLength = InputLimits.agentNameCharacters
    static let maxDisplayNameBytes = InputLimits.displayNameBytes
    static let maxDescriptionBytes = InputLimits.descriptionBytes
    static let maxPromptBytes = InputLimits.systemPromptBytes
    static let maxCapabilities = InputLimits.capabilities
    static let maxTags = InputLimits.tags
    static let iterationRange = InputLimits.iterations

    static func validateName(_ name: String) throws {
        let valid =
            !name.isEmpty && name.count <= maxNameLength
            && name.split(separator: "-", omittingEmptySubsequences: false).allSatisfy { part in
                !part.isEmpty && part.allSatisfy { ("a"..."z").contains($0) || ("0"..."9").contains($0) }
            }
        guard valid else {
            throw APIError.badRequest(
                "name '\(name.prefix(80))' must match [a-z0-9]+(-[a-z0-9]+)* and be at most \(maxNameLength) characters")
        }
    }

    static func validateSize(_ value: String?, _ field: String, max: Int) throws {
        guard let value, value.utf8.count > max else { return }
        throw APIError.badRequest("\(field) exceeds \(max) bytes", code: "input_too_large")
    }

    static func validateIterations(_ value: Int?) throws {
        guard let value, !iterationRange.contains(value) else { return }
        throw APIError.badRequest("max_iterations must be between \(iterationRange.lowerBound) and \(iterationRange.upperBound)")
    }

    static func validateTags(_ tags: [String]?) throws {
        guard let tags else { return }
        guard tags.count <= maxTags, tags.allSatisfy({ !$0.isEmpty && $0.unicodeScalars.count <= InputLimits.tagCharacters }) else {
            throw APIError.badRequest("tags: at most \(maxTags) non-empty tags of at most \(InputLimits.tagCharacters) characters")
        }
    }

    static func validateTools(_ tools: [ToolDefinition]?) throws {
        guard let tools else { return }
        for tool in tools {
            guard ["builtin", "client_side", "client"].contains(tool.type) else {
                throw APIError.badRequest("tools: type must be builtin or client_side (got '\(tool.type)')")
            }
            guard !tool.name.isEmpty, tool.name.unicodeScalars.count <= InputLimits.toolNameCharacters else {
                throw APIError.badRequest("tools: name must be 1 to \(InputLimits.toolNameCharacters) characters")
            }
        }
    }

    static func validateHarness(id: String?, name: String?) throws {
        if id != nil && name != nil { throw APIError.badRequest("Specify harness_id or harness_name, not both") }
        if let id, id != BuiltIn.genericHarnessID {
            guard PublicID.isValid(id, prefix: .harness) else {
                throw APIError.badRequest("Invalid harness id '\(id)'", code: "invalid_id")
            }
            throw APIError(.notFound, code: "harness_not_found", "Harness '\(id)' not found")
        }
        if let name, name != BuiltIn.genericHarnessName {
            throw APIError(.notFound, code: "harness_not_found", "Harness '\(name)' not found")
        }
    }
}
