import Foundation
import KeelCore
import KeelServices

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

    init(_ model: CatalogService.Model) {
        self.init(provider: model.provider, model: model.name, id: model.id)
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
