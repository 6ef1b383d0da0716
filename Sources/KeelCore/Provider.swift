import Foundation

/// The wire protocol a provider speaks.
public enum ProviderType: String, Codable, Sendable, CaseIterable {
    case openai, anthropic, gemini
    case llmsim

    /// The environment-variable fallback name for this provider's key, if any.
    public var defaultKeyVariable: String? {
        switch self {
        case .openai: "DEFAULT_OPENAI_API_KEY"
        case .anthropic: "DEFAULT_ANTHROPIC_API_KEY"
        case .gemini: "DEFAULT_GEMINI_API_KEY"
        case .llmsim: nil
        }
    }
}

public enum ProviderStatus: String, Codable, Sendable {
    case active, disabled
}

/// An LLM provider. The API key is held only as an encrypted envelope. `Codable` is the stored
/// form (it carries the envelope): clients get `ProviderBody`, which says only `api_key_set`.
public struct LLMProvider: Codable, Sendable, Hashable {
    public var id: String
    public var organizationID: String
    public var name: String
    public var providerType: ProviderType
    public var baseURL: String?
    public var encryptedAPIKey: String?
    public var status: ProviderStatus
    public var models: [String]
    public var isBuiltIn: Bool
    public var createdAt: Date
    public var updatedAt: Date

    enum CodingKeys: String, CodingKey {
        case id
        case organizationID = "organization_id"
        case name
        case providerType = "provider_type"
        case baseURL = "base_url"
        case encryptedAPIKey = "encrypted_api_key"
        case status, models
        case isBuiltIn = "is_built_in"
        case createdAt = "created_at"
        case updatedAt = "updated_at"
    }

    public init(
        id: String = PublicID.make(.provider), organizationID: String = BuiltIn.organizationID, name: String,
        providerType: ProviderType, baseURL: String? = nil, encryptedAPIKey: String? = nil,
        status: ProviderStatus = .active, models: [String] = [], isBuiltIn: Bool = false, now: Date = Date()
    ) {
        self.id = id
        self.organizationID = organizationID
        self.name = name
        self.providerType = providerType
        self.baseURL = baseURL
        self.encryptedAPIKey = encryptedAPIKey
        self.status = status
        self.models = models
        self.isBuiltIn = isBuiltIn
        self.createdAt = now
        self.updatedAt = now
    }
}
