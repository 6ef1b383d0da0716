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

/// Answer of `POST /v1/sessions/{id}/cancel`.
struct CancelBody: Encodable {
    var status: String
    var message: String
}
