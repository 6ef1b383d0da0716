import Foundation
import KeelCore

/// A provider as clients see it: never the key, only whether one is available.
struct ProviderBody: Encodable {
    var id: String
    var organizationID: String
    var name: String
    var providerType: ProviderType
    var baseURL: String?
    var apiKeySet: Bool
    var status: ProviderStatus
    var models: [String]
    var isBuiltIn: Bool
    var createdAt: Date
    var updatedAt: Date

    enum CodingKeys: String, CodingKey {
        case id
        case organizationID = "organization_id"
        case name
        case providerType = "provider_type"
        case baseURL = "base_url"
        case apiKeySet = "api_key_set"
        case status, models
        case isBuiltIn = "is_builtin"
        case createdAt = "created_at"
        case updatedAt = "updated_at"
    }
}

struct ProviderInput: Decodable {
    var name: String
    var providerType: ProviderType
    var apiKey: String?
    var baseURL: String?
    var models: [String]?
    var status: ProviderStatus?

    enum CodingKeys: String, CodingKey {
        case name
        case providerType = "provider_type"
        case apiKey = "api_key"
        case baseURL = "base_url"
        case models, status
    }
}

/// PATCH body; `api_key: null` removes the stored key, an absent field leaves it alone.
struct ProviderPatch: Decodable {
    var name: String?
    var apiKey: String??
    var baseURL: String??
    var models: [String]?
    var status: ProviderStatus?

    enum CodingKeys: String, CodingKey {
        case name
        case apiKey = "api_key"
        case baseURL = "base_url"
        case models, status
    }

    init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        name = try container.decodeIfPresent(String.self, forKey: .name)
        if container.contains(.apiKey) { apiKey = .some(try container.decodeIfPresent(String.self, forKey: .apiKey)) }
        if container.contains(.baseURL) { baseURL = .some(try container.decodeIfPresent(String.self, forKey: .baseURL)) }
        models = try container.decodeIfPresent([String].self, forKey: .models)
        status = try container.decodeIfPresent(ProviderStatus.self, forKey: .status)
    }
}

/// An entry of `GET /v1/models`.
struct ModelBody: Encodable {
    var id: String
    var providerID: String
    var modelID: String
    var displayName: String
    var providerName: String
    var providerType: ProviderType
    var enabled: Bool
    var source: String
    var capabilities: [String]
    var healthy: Bool
    var isFavorite: Bool
    var createdAt: Date
    var updatedAt: Date

    enum CodingKeys: String, CodingKey {
        case id
        case providerID = "provider_id"
        case modelID = "model_id"
        case displayName = "display_name"
        case providerName = "provider_name"
        case providerType = "provider_type"
        case enabled, source, capabilities, healthy
        case isFavorite = "is_favorite"
        case createdAt = "created_at"
        case updatedAt = "updated_at"
    }

    init(provider: LLMProvider, model: String, id: String) {
        self.id = id
        providerID = provider.id
        modelID = model
        displayName = model
        providerName = provider.name
        providerType = provider.providerType
        enabled = provider.status == .active
        source = provider.isBuiltIn ? "predefined" : "manual"
        capabilities = provider.providerType == .llmsim ? ["streaming", "tools"] : ["streaming", "tools", "vision"]
        healthy = true
        isFavorite = false
        createdAt = provider.createdAt
        updatedAt = provider.updatedAt
    }
}

/// An entry of `GET /v1/capabilities`.
struct CapabilityBody: Encodable {
    var id: String
    var name: String
    var description: String
    var status: String
    var category: String
    var experimental: Bool
    var dependencies: [String]
    var toolDefinitions: [ToolDefinition]

    enum CodingKeys: String, CodingKey {
        case id, name, description, status, category, experimental, dependencies
        case toolDefinitions = "tool_definitions"
    }

    init(_ capability: Capability) {
        id = capability.id
        name = capability.name
        description = capability.description
        status = "available"
        category = capability.category
        experimental = capability.experimental
        dependencies = capability.dependencies
        toolDefinitions = capability.tools.map(\.definition)
    }
}
