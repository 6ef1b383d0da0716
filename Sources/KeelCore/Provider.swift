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

/// An LLM provider. The API key is held only as an encrypted envelope and never serialised
/// to clients; `api_key_set` says whether a key is available.
public struct LLMProvider: Sendable, Hashable {
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
