import Hummingbird
import KeelAuth
import KeelCore
import KeelServices

/// `/v1/llm-providers` (and its alias `/v1/providers`): list, create, read, patch, delete.
/// Responses say whether a key is set, never the key. Changing providers (which hold keys the
/// server spends) needs the admin role in the organization.
struct ProvidersController: Sendable {
    let providers: ProviderService

    func addRoutes(to v1: RouterGroup<KeelRequestContext>, path: String) {
        v1.get(RouterPath(path)) { request, context in
            let listed = try await providers.list(organizationID: try RequestScope.organizationID(context))
            return try JSONResponse.make(ListBody(data: listed.map(body(for:))))
        }
        v1.post(RouterPath(path)) { request, context in
            try RequestScope.principal(context).require(.admin)
            let input = try await RequestDecoding.decodeBody(ProviderInput.self, from: request)
            let provider = try await providers.create(input, organizationID: try RequestScope.organizationID(context))
            return try JSONResponse.make(body(for: provider), status: .created)
        }
        v1.get(RouterPath("\(path)/{id}")) { request, context in
            try JSONResponse.make(body(for: try await find(request, context)))
        }
        v1.patch(RouterPath("\(path)/{id}")) { request, context in
            try RequestScope.principal(context).require(.admin)
            let existing = try await find(request, context)
            // Refused before the body is read: a built-in answers the same whatever is sent.
            try providers.checkEditable(existing)
            let patch = try await RequestDecoding.decodeBody(ProviderPatch.self, from: request)
            return try JSONResponse.make(body(for: try await providers.update(existing, with: patch)))
        }
        v1.delete(RouterPath("\(path)/{id}")) { request, context in
            try RequestScope.principal(context).require(.admin)
            try await providers.delete(try await find(request, context))
            return JSONResponse.noContent()
        }
    }

    private func find(_ request: Request, _ context: KeelRequestContext) async throws -> LLMProvider {
        let id = try RequestDecoding.requireID(context, "id", prefix: .provider)
        return try await providers.find(id, organizationID: try RequestScope.organizationID(context))
    }

    private func body(for provider: LLMProvider) -> ProviderBody {
        ProviderBody(
            id: provider.id, organizationID: provider.organizationID, name: provider.name,
            providerType: provider.providerType, baseURL: provider.baseURL,
            apiKeySet: providers.hasAPIKey(provider),
            status: provider.status, models: provider.models, isBuiltIn: provider.isBuiltIn,
            createdAt: provider.createdAt, updatedAt: provider.updatedAt)
    }
}
