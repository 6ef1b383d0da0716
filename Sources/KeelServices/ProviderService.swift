import Foundation
import KeelCore
import KeelEngine
import KeelSecrets

/// LLM providers of an organization. Keys are sealed (`SecretsCipher`, bound to the provider's
/// row) before they are stored and are never handed back: callers learn only whether a key is
/// available (`hasAPIKey`). Built-in providers are the operator's and read-only.
public struct ProviderService: Sendable {
    let store: any KeelStore
    let cipher: SecretsCipher
    let configuration: EngineConfiguration

    public init(store: any KeelStore, cipher: SecretsCipher, configuration: EngineConfiguration) {
        self.store = store
        self.cipher = cipher
        self.configuration = configuration
    }

    public func list(organizationID: String) async throws -> [LLMProvider] {
        try await store.listProviders(organizationID: organizationID)
    }

    /// The provider with this (well-formed) id in the organization.
    public func find(_ id: String, organizationID: String) async throws -> LLMProvider {
        guard let provider = try await store.provider(id: id, organizationID: organizationID) else {
            throw ServiceError.notFound(kind: "provider", id: id)
        }
        return provider
    }

    /// Whether turns on this provider have a key: its own, the operator's default for its
    /// endpoint, or none needed.
    public func hasAPIKey(_ provider: LLMProvider) -> Bool {
        configuration.hasAPIKey(provider)
    }

    public func create(_ input: ProviderInput, organizationID: String) async throws -> LLMProvider {
        try Self.validateName(input.name)
        try await validateBaseURL(input.baseURL, type: input.providerType)
        try Self.validateModels(input.models)
        var provider = LLMProvider(
            organizationID: organizationID, name: input.name, providerType: input.providerType,
            baseURL: input.baseURL, status: input.status ?? .active, models: input.models ?? [])
        provider.encryptedAPIKey = try seal(input.apiKey, for: provider)
        try await store.insertProvider(provider)
        return provider
    }

    /// Refuses built-ins before anything else: callers check this before reading the change.
    public func checkEditable(_ provider: LLMProvider) throws(ServiceError) {
        // Built-ins carry the operator's endpoints and DEFAULT_* keys: changing their base_url
        // would send the operator's key elsewhere, so they are configured only by environment.
        guard !provider.isBuiltIn else {
            throw .invalid(
                "Built-in providers are read-only; they are configured by the operator (DEFAULT_*_API_KEY, *_BASE_URL). Create a provider of your own instead",
                code: "builtin_provider")
        }
    }

    public func update(_ existing: LLMProvider, with patch: ProviderPatch) async throws -> LLMProvider {
        try checkEditable(existing)
        if let name = patch.name { try Self.validateName(name) }
        if let baseURL = patch.baseURL { try await validateBaseURL(baseURL, type: existing.providerType) }
        try Self.validateModels(patch.models)
        let sealedKey: String?? = try patch.apiKey.map { key throws(ServiceError) in try seal(key, for: existing) }
        return try await store.updateProvider(id: existing.id, organizationID: existing.organizationID) { provider in
            if let name = patch.name { provider.name = name }
            if let baseURL = patch.baseURL { provider.baseURL = baseURL }
            if let sealedKey { provider.encryptedAPIKey = sealedKey }
            if let models = patch.models { provider.models = models }
            if let status = patch.status { provider.status = status }
        }
    }

    public func delete(_ provider: LLMProvider) async throws {
        guard !provider.isBuiltIn else {
            throw ServiceError.invalid(
                "Built-in providers cannot be deleted; they are configured by the operator", code: "builtin_provider")
        }
        try await store.deleteProvider(id: provider.id, organizationID: provider.organizationID)
    }

    /// Encrypts a key for storage, bound to the provider's row; empty means no key.
    func seal(_ apiKey: String?, for provider: LLMProvider) throws(ServiceError) -> String? {
        guard let apiKey, !apiKey.isEmpty else { return nil }
        guard apiKey.utf8.count <= InputLimits.apiKeyBytes else {
            throw .invalid("api_key exceeds \(InputLimits.apiKeyBytes) bytes")
        }
        do {
            return try cipher.encrypt(
                apiKey, boundTo: .providerKey(providerID: provider.id, organizationID: provider.organizationID))
        } catch {
            throw .encryptionFailed
        }
    }

    static func validateName(_ name: String) throws(ServiceError) {
        let max = InputLimits.providerNameCharacters
        guard !name.trimmingCharacters(in: .whitespaces).isEmpty, name.count <= max else {
            throw .invalid("name must be 1 to \(max) characters")
        }
    }

    /// An http(s) URL that is the operator's endpoint of the type or passes the address policy.
    func validateBaseURL(_ baseURL: String?, type: ProviderType) async throws(ServiceError) {
        guard let baseURL else { return }
        guard baseURL.utf8.count <= InputLimits.baseURLBytes, let url = URL(string: baseURL),
            ["http", "https"].contains(url.scheme?.lowercased() ?? ""), url.host != nil
        else {
            throw .invalid("base_url must be an http or https URL of at most \(InputLimits.baseURLBytes) bytes")
        }
        guard !configuration.isOperatorEndpoint(baseURL, type: type) else { return }
        if let refusal = await configuration.baseURLPolicy.refusal(baseURL) {
            throw .invalid(
                "base_url is not allowed: \(refusal.prefix(300)) (private and special-purpose addresses need LLM_ALLOW_PRIVATE_BASE_URLS=true)",
                code: "base_url_not_allowed")
        }
    }

    static func validateModels(_ models: [String]?) throws(ServiceError) {
        guard let models else { return }
        let max = InputLimits.providerModels, maxName = InputLimits.providerModelCharacters
        guard models.count <= max, models.allSatisfy({ !$0.isEmpty && $0.count <= maxName && !$0.contains("/") }) else {
            throw .invalid("models: at most \(max) non-empty model names without '/'")
        }
    }
}
