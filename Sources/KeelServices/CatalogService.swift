import KeelCore
import KeelEngine

/// What agents and sessions can be built from: the capability catalogue and the models the
/// organization's providers serve.
public struct CatalogService: Sendable {
    /// One model of one provider, under the id `/v1/models` lists it by.
    public struct Model: Sendable {
        public var id: String
        public var name: String
        public var provider: LLMProvider
    }

    let store: any KeelStore
    let capabilities: CapabilityDirectory

    public init(store: any KeelStore, capabilities: CapabilityDirectory) {
        self.store = store
        self.capabilities = capabilities
    }

    /// Capabilities whose id, name or description contains `search` (case-insensitive), paged.
    public func capabilities(search: String?, offset: Int, limit: Int) -> Page<Capability> {
        let search = search?.lowercased()
        let matching = capabilities.all().filter { capability in
            guard let search, !search.isEmpty else { return true }
            return capability.id.contains(search) || capability.name.lowercased().contains(search)
                || capability.description.lowercased().contains(search)
        }
        return Page(items: Array(matching.dropFirst(offset).prefix(limit)), total: matching.count, offset: offset, limit: limit)
    }

    public func capability(id: String) throws(ServiceError) -> Capability {
        guard let capability = capabilities.all().first(where: { $0.id == id }) else {
            throw .notFound(kind: "capability", id: id)
        }
        return capability
    }

    /// Every model of every provider of the organization.
    public func models(organizationID: String) async throws -> [Model] {
        try await store.listProviders(organizationID: organizationID).flatMap { provider in
            provider.models.map { name in
                Model(id: ModelResolver.modelID(provider: provider, model: name), name: name, provider: provider)
            }
        }
    }

    public func model(id: String, organizationID: String) async throws -> Model {
        guard let model = try await models(organizationID: organizationID).first(where: { $0.id == id }) else {
            throw ServiceError.notFound(kind: "model", id: id)
        }
        return model
    }
}
