import Foundation
import KeelCore

/// Body of `POST /v1/sessions`: every field optional.
struct SessionInput: Decodable {
    var agentID: String?
    var agentName: String?
    var harnessID: String?
    var harnessName: String?
    var title: String?
    var locale: String?
    var modelID: String?
    var systemPrompt: String?
    var tags: [String]?
    var capabilities: [CapabilityRefInput]?
    var tools: [ToolDefinition]?
    var maxIterations: Int?
    var parallelToolCalls: Bool?

    enum CodingKeys: String, CodingKey {
        case agentID = "agent_id"
        case agentName = "agent_name"
        case harnessID = "harness_id"
        case harnessName = "harness_name"
        case title, locale
        case modelID = "model_id"
        case systemPrompt = "system_prompt"
        case tags, capabilities, tools
        case maxIterations = "max_iterations"
        case parallelToolCalls = "parallel_tool_calls"
    }
}

/// Body of `PATCH /v1/sessions/{id}`.
struct SessionPatch: Decodable {
    var title: String?
    var locale: String?
    var tags: [String]?
    var modelID: String?

    enum CodingKeys: String, CodingKey {
        case title, locale, tags
        case modelID = "model_id"
    }
}

/// Body of `POST /v1/sessions/{id}/messages`.
struct MessageInput: Decodable {
    struct Inner: Decodable {
        var role: String?
        var content: [ContentPart]
    }

    var message: Inner
    var controls: JSONValue?
    var metadata: JSONValue?
    var tags: [String]?
}

extension SessionInput: LimitedInput {
    func checkLimits() throws {
        try FieldLimit.characters(agentID, "agent_id", max: InputLimits.idCharacters)
        try FieldLimit.characters(agentName, "agent_name", max: InputLimits.idCharacters)
        try FieldLimit.characters(harnessID, "harness_id", max: InputLimits.idCharacters)
        try FieldLimit.characters(harnessName, "harness_name", max: InputLimits.idCharacters)
        try FieldLimit.bytes(title, "title", max: InputLimits.titleBytes)
        try FieldLimit.characters(locale, "locale", max: InputLimits.localeCharacters)
        try FieldLimit.characters(modelID, "model_id", max: InputLimits.modelReferenceCharacters)
        try FieldLimit.bytes(systemPrompt, "system_prompt", max: InputLimits.systemPromptBytes)
        try FieldLimit.tags(tags)
        try FieldLimit.capabilities(capabilities)
        try FieldLimit.tools(tools)
    }
}

extension SessionPatch: LimitedInput {
    func checkLimits() throws {
        try FieldLimit.bytes(title, "title", max: InputLimits.titleBytes)
        try FieldLimit.characters(locale, "locale", max: InputLimits.localeCharacters)
        try FieldLimit.tags(tags)
        try FieldLimit.characters(modelID, "model_id", max: InputLimits.modelReferenceCharacters)
    }
}

extension MessageInput: LimitedInput {
    func checkLimits() throws {
        try FieldLimit.characters(message.role, "message.role", max: InputLimits.roleCharacters)
        try FieldLimit.count(message.content, "message.content", max: InputLimits.contentParts)
        var textBytes = 0
        for (index, part) in message.content.enumerated() {
            let field = "message.content[\(index)]"
            switch part {
            case .text(let text):
                textBytes += text.utf8.count
            case .image(let url, _, let mediaType):
                // base64 data is bounded by the body size only: an image is as large as it is.
                try FieldLimit.characters(url, "\(field).url", max: InputLimits.imageURLCharacters)
                try FieldLimit.characters(mediaType, "\(field).media_type", max: InputLimits.mediaTypeCharacters)
            case .imageFile(let imageID, let filename):
                try FieldLimit.characters(imageID, "\(field).image_id", max: InputLimits.idCharacters)
                try FieldLimit.characters(filename, "\(field).filename", max: InputLimits.fileNameCharacters)
            case .toolCall, .toolResult:
                continue  // refused as user input by the route
            }
        }
        if textBytes > InputLimits.messageTextBytes {
            throw APIError.badRequest(
                "message text exceeds \(InputLimits.messageTextBytes) bytes (all text parts together)", code: "input_too_large")
        }
        try FieldLimit.jsonBytes(controls, "controls", max: InputLimits.controlsBytes)
        try FieldLimit.tags(tags)
    }
}

/// Answer of `POST /v1/sessions/{id}/cancel`.
struct CancelBody: Encodable {
    var status: String
    var message: String
}
