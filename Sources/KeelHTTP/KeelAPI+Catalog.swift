import Foundation
import Hummingbird
import KeelCore
import KeelEngine

extension KeelAPI {
    private func models(_ request: Request) async throws -> [ModelBody] {
        try await store.listProviders(organizationID: organizationID(request)).flatMap { provider in
            provider.models.map { model in
                ModelBody(provider: provider, model: model, id: ModelResolver.modelID(provider: provider, model: model))
            }
        }
    }

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
            try JSONResponse.make(ListBody(data: try await models(request)))
        }
        // Model ids contain a slash (`openai/gpt-4o-mini`), so the id is the rest of the path.
        v1.get("models/**") { request, context in
            let raw = context.parameters.getCatchAll().joined(separator: "/")
            let id = raw.removingPercentEncoding ?? raw
            guard let model = try await models(request).first(where: { $0.id == id }) else {
                throw APIError.notFound("model", id)
            }
            return try JSONResponse.make(model)
        }
    }
}
