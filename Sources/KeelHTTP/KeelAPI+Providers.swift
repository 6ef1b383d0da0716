import Foundation
import Hummingbird
import KeelCore

extension KeelAPI {
    func addProviderRoutes(to v1: RouterGroup<BasicRequestContext>, path: String) {
        v1.get(RouterPath(path)) { request, _ in
            let providers = try await store.listProviders(organizationID: organizationID(request))
            return try JSONResponse.make(ListBody(data: providers.map(body(for:))))
        }
        v1.post(RouterPath(path)) { request, _ in
            let input = try await RequestDecoding.decodeBody(ProviderInput.self, from: request)
            try validateProviderName(input.name)
            try validateBaseURL(input.baseURL)
            try validateModels(input.models)
            let provider = LLMProvider(
                organizationID: organizationID(request), name: input.name, providerType: input.providerType,
                baseURL: input.baseURL, encryptedAPIKey: try seal(input.apiKey), status: input.status ?? .active,
                models: input.models ?? [])
            try await store.insertProvider(provider)
            return try JSONResponse.make(body(for: provider), status: .created)
        }
        v1.get(RouterPath("\(path)/{id}")) { request, context in
            try JSONResponse.make(body(for: try await findProvider(context, request)))
        }
        v1.patch(RouterPath("\(path)/{id}")) { request, context in
            let existing = try await findProvider(context, request)
            let patch = try await RequestDecoding.decodeBody(ProviderPatch.self, from: request)
            if let name = patch.name { try validateProviderName(name) }
            if let baseURL = patch.baseURL { try validateBaseURL(baseURL) }
            try validateModels(patch.models)
            let sealedKey: String?? = try patch.apiKey.map { try seal($0) }
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
                throw APIError.badRequest("Built-in providers cannot be deleted; disable them with PATCH status", code: "builtin_provider")
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

    /// Encrypts a key for storage; empty means no key.
    private func seal(_ apiKey: String?) throws -> String? {
        guard let apiKey, !apiKey.isEmpty else { return nil }
        guard apiKey.utf8.count <= 4096 else { throw APIError.badRequest("api_key exceeds 4096 bytes") }
        do {
            return try cipher.encrypt(apiKey)
        } catch {
            throw APIError(.internalServerError, code: "encryption_failed", "The key could not be encrypted")
        }
    }

    func body(for provider: LLMProvider) -> ProviderBody {
        ProviderBody(
            id: provider.id, organizationID: provider.organizationID, name: provider.name,
            providerType: provider.providerType, baseURL: provider.baseURL,
            apiKeySet: provider.providerType == .llmsim || provider.encryptedAPIKey != nil
                || engine.configuration.defaultAPIKeys[provider.providerType] != nil,
            status: provider.status, models: provider.models, isBuiltIn: provider.isBuiltIn,
            createdAt: provider.createdAt, updatedAt: provider.updatedAt)
    }

    private func validateProviderName(_ name: String) throws {
        guard !name.trimmingCharacters(in: .whitespaces).isEmpty, name.count <= 100 else {
            throw APIError.badRequest("name must be 1 to 100 characters")
        }
    }

    private func validateBaseURL(_ baseURL: String?) throws {
        guard let baseURL else { return }
        guard let url = URL(string: baseURL), ["http", "https"].contains(url.scheme?.lowercased() ?? ""), url.host != nil
        else {
            throw APIError.badRequest("base_url must be an http or https URL")
        }
    }

    private func validateModels(_ models: [String]?) throws {
        guard let models else { return }
        guard models.count <= 200, models.allSatisfy({ !$0.isEmpty && $0.count <= 200 && !$0.contains("/") }) else {
            throw APIError.badRequest("models: at most 200 non-empty model names without '/'")
        }
    }
}
