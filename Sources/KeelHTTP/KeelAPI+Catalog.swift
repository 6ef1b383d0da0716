import Foundation
import Hummingbird
import KeelCore
import KeelEngine

extension KeelAPI {
    func addCatalogRoutes(to v1: RouterGroup<BasicRequestContext>) {
        v1.get("capabilities") { request, _ in
            let offset = try RequestDecoding.integer(request, "offset", default: 0, range: 0...Int(Int32.max))
            let limit = try RequestDecoding.integer(request, "limit", default: 100, range: 1...100)
            let search = RequestDecoding.string(request, "search")?.lowercased()
            let matching = capabilities.all().filter { capability in
                guard let search, !search.isEmpty else { return true }
                return capability.id.contains(search) || capability.name.lowercased().contains(search)
                    || capability.description.lowercased().contains(search)
            }
            let page = matching.dropFirst(offset).prefix(limit).map(CapabilityBody.init)
            return try JSONResponse.make(PageBody(data: Array(page), total: matching.count, offset: offset, limit: limit))
        }
        v1.get("capabilities/{id}") { _, context in
            let id = context.parameters.get("id") ?? ""
            guard let capability = capabilities.all().first(where: { $0.id == id }) else {
                throw APIError.notFound("capability", id)
            }
            return try JSONResponse.make(CapabilityBody(capability))
        }
        v1.get("models") { request, _ in
            let providers = try await store.listProviders(organizationID: organizationID(request))
            let models = providers.flatMap { provider in
                provider.models.map { model in
                    ModelBody(
                        id: ModelResolver.modelID(provider: provider, model: model), providerID: provider.id,
                        modelID: model, displayName: model, providerName: provider.name,
                        providerType: provider.providerType, enabled: provider.status == .active,
                        source: provider.isBuiltIn ? "predefined" : "manual")
                }
            }
            return try JSONResponse.make(ListBody(data: models))
        }
    }
}
