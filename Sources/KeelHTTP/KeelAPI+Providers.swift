import Foundation
import Hummingbird
import KeelCore
import KeelSecrets

extension KeelAPI {
    func addProviderRoutes(to v1: RouterGroup<BasicRequestContext>, path: String) {
        v1.get(RouterPath(path)) { request, _ in
            let providers = try await store.listProviders(organizationID: organizationID(request))
            return try JSONResponse.make(ListBody(data: providers.map(body(for:))))
        }
        v1.post(RouterPath(path)) { request, _ in
            let input = try await RequestDecoding.decodeBody(ProviderInput.self, from: request)
            try validateProviderName(input.name)
            try await validateBaseURL(input.baseURL, type: input.providerType)
            try validateModels(input.models)
            var provider = LLMProvider(
                organizationID: organizationID(request), name: input.name, providerType: input.providerType,
                baseURL: input.baseURL, status: input.status ?? .active, models: input.models ?? [])
            provider.encryptedAPIKey = try seal(input.apiKey, for: provider)
            try await store.insertProvider(provider)
            return try JSONResponse.make(body(for: provider), status: .created)
        }
        v1.get(RouterPath("\(path)/{id}")) { request, context in
            try JSONResponse.make(body(for: try await findProvider(context, request)))
        }
        v1.patch(RouterPath("\(path)/{id}")) { request, context in
            let existing = try await findProvider(context, request)
            // Built-ins carry the operator's endpoints and DEFAULT_* keys: changing their base_url
            // would send the operator's key elsewhere, so they are configured only by environment.
            guard !existing.isBuiltIn else {
                throw APIError.badRequest(
                    "Built-in providers are read-only; they are configured by the operator (DEFAULT_*_API_KEY, *_BASE_URL). Create a provider of your own instead",
                    code: "builtin_provider")
            }
            let patch = try await RequestDecoding.decodeBody(ProviderPatch.self, from: request)
            if let name = patch.name { try validateProviderName(name) }
            if let baseURL = patch.baseURL { try await validateBaseURL(baseURL, type: existing.providerType) }
            try validateModels(patch.models)
            let sealedKey: String?? = try patch.apiKey.map { try seal($0, for: existing) }
            let updated = try await store.updateProvider(id: existing.id) { provider in
                if let name = patch.name { provider.name = name }
                if let baseURL = patch.baseURL { provider.baseURL = baseURL }
                if let sealedKey { provider.encryptedAPIKey = sealedKey }
                if let models = patch.models { provider.models = models }
                if let status = patch.status { provider.status = status }
            }
            return try JSONResponse.make(body(for: updated))
        }
        v1.delete(RouterPath("\(path)/{id}")) { request, context in
            let provider = try await findProvider(context, request)
            guard !provider.isBuiltIn else {
                throw APIError.badRequest(
                    "Built-in providers cannot be deleted; they are configured by the operator", code: "builtin_provider")
            }
            try await store.deleteProvider(id: provider.id)
            return JSONResponse.noContent()
        }
    }

    private func findProvider(_ context: BasicRequestContext, _ request: Request) async throws -> LLMProvider {
        let id = try RequestDecoding.requireID(context, "id", prefix: .provider)
        guard let provider = try await store.provider(id: id), provider.organizationID == organizationID(request) else {
            throw APIError.notFound("provider", id)
        }
        return provider
    }

    /// Encrypts a key for storage, bound to the provider's row; empty means no key.
    private func seal(_ apiKey: String?, for provider: LLMProvider) throws -> String? {
        guard let apiKey, !apiKey.isEmpty else { return nil }
        guard apiKey.utf8.count <= 4096 else { throw APIError.badRequest("api_key exceeds 4096 bytes") }
        do {
            return try cipher.encrypt(
                apiKey, boundTo: .providerKey(providerID: provider.id, organizationID: provider.organizationID))
        } catch {
            throw APIError(.internalServerError, code: "encryption_failed", "The key could not be encrypted")
        }
    }

    func body(for provider: LLMProvider) -> ProviderBody {
        ProviderBody(
            id: provider.id, organizationID: provider.organizationID, name: provider.name,
            providerType: provider.providerType, baseURL: provider.baseURL,
            apiKeySet: engine.configuration.hasAPIKey(provider),
            status: provider.status, models: provider.models, isBuiltIn: provider.isBuiltIn,
            createdAt: provider.createdAt, updatedAt: provider.updatedAt)
    }

    private func validateProviderName(_ name: String) throws {
        guard !name.trimmingCharacters(in: .whitespaces).isEmpty, name.count <= 100 else {
            throw APIError.badRequest("name must be 1 to 100 characters")
        }
    }

    /// An http(s) URL that is the operator's endpoint of the type or passes the address policy.
    private func validateBaseURL(_ baseURL: String?, type: ProviderType) async throws {
        guard let baseURL else { return }
        guard baseURL.utf8.count <= 2048, let url = URL(string: baseURL),
              ["http", "https"].contains(url.scheme?.lowercased() ?? ""), url.host != nil
        else {
            throw APIError.badRequest("base_url must be an http or https URL of at most 2048 bytes")
        }
        let configuration = engine.configuration
        guard !configuration.isOperatorEndpoint(baseURL, type: type) else { return }
        if let refusal = await configuration.baseURLPolicy.refusal(baseURL) {
            throw APIError.badRequest(
                "base_url is not allowed: \(refusal.prefix(300)) (private and special-purpose addresses need LLM_ALLOW_PRIVATE_BASE_URLS=true)",
                code: "base_url_not_allowed")
        }
    }

    private func validateModels(_ models: [String]?) throws {
        guard let models else { return }
        guard models.count <= 200, models.allSatisfy({ !$0.isEmpty && $0.count <= 200 && !$0.contains("/") }) else {
            throw APIError.badRequest("models: at most 200 non-empty model names without '/'")
        }
    }
}
