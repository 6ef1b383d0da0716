import Foundation
import Hummingbird
import KeelCore
import KeelServices

/// `/v1/capabilities` and `/v1/models`: what agents and sessions can be built from.
struct CatalogController: Sendable {
    let catalog: CatalogService

    func addRoutes(to v1: RouterGroup<KeelRequestContext>) {
        v1.get("capabilities") { request, context in
            let offset = try RequestDecoding.integer(request, "offset", default: 0, range: 0...Int(Int32.max))
            let limit = try RequestDecoding.integer(request, "limit", default: 100, range: 1...100)
            let page = catalog.capabilities(search: RequestDecoding.string(request, "search"), offset: offset, limit: limit)
            return try JSONResponse.make(
                PageBody(data: page.items.map(CapabilityBody.init), total: page.total, offset: offset, limit: limit))
        }
        v1.get("capabilities/{id}") { _, context in
            try JSONResponse.make(CapabilityBody(try catalog.capability(id: context.parameters.get("id") ?? "")))
        }
        v1.get("models") { request, context in
            let models = try await catalog.models(organizationID: try RequestScope.organizationID(context))
            return try JSONResponse.make(ListBody(data: models.map(ModelBody.init)))
        }
        // Model ids contain a slash (`openai/gpt-4o-mini`), so the id is the rest of the path.
        v1.get("models/**") { request, context in
            let raw = context.parameters.getCatchAll().joined(separator: "/")
            let id = raw.removingPercentEncoding ?? raw
            return try JSONResponse.make(
                ModelBody(try await catalog.model(id: id, organizationID: try RequestScope.organizationID(context))))
        }
    }
}
