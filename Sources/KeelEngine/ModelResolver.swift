import Foundation
import KeelCore

/// A model reference resolved to the provider that serves it.
public struct ResolvedModel: Sendable, Hashable {
    public var reference: String
    public var model: String
    public var provider: LLMProvider
}

/// Resolves model references. Accepted forms: `<provider_id>/<model>` (that provider),
/// `<provider_type>/<model>` and a bare `<model>` that some provider lists.
///
/// The operator's built-in providers come first: `openai/gpt-4o` is the built-in OpenAI provider
/// while it is active, and a bare name a built-in lists goes to that built-in. A provider a user
/// created is reached by its id (`provider_…/model`), or by a type or bare name no active built-in
/// answers (oldest provider first). So creating a provider never silently captures references
/// that other agents and sessions of the organization meant for the operator's providers.
public struct ModelResolver: Sendable {
    public let store: any KeelStore

    public init(store: any KeelStore) {
        self.store = store
    }

    public func resolve(_ reference: String, organizationID: String) async throws -> ResolvedModel? {
        Self.resolve(reference, among: try await store.listProviders(organizationID: organizationID))
    }

    /// Resolves against an organization's providers as listed by the store.
    public static func resolve(_ reference: String, among listed: [LLMProvider]) -> ResolvedModel? {
        let trimmed = reference.trimmingCharacters(in: .whitespaces)
        guard !trimmed.isEmpty else { return nil }
        let providers = listed
            .filter { $0.status == .active }
            .sorted { first, second in
                if first.isBuiltIn != second.isBuiltIn { return first.isBuiltIn }
                return (first.createdAt, first.id) < (second.createdAt, second.id)
            }
        if let slash = trimmed.firstIndex(of: "/") {
            let prefix = String(trimmed[..<slash])
            let model = String(trimmed[trimmed.index(after: slash)...])
            guard !model.isEmpty else { return nil }
            if let provider = providers.first(where: { $0.id == prefix }) {
                return ResolvedModel(reference: trimmed, model: model, provider: provider)
            }
            if let type = ProviderType(rawValue: prefix), let provider = providers.first(where: { $0.providerType == type }) {
                return ResolvedModel(reference: trimmed, model: model, provider: provider)
            }
            return nil
        }
        guard let provider = providers.first(where: { $0.models.contains(trimmed) }) else { return nil }
        return ResolvedModel(reference: trimmed, model: trimmed, provider: provider)
    }

    /// The public id of a provider's model as `/v1/models` lists it.
    public static func modelID(provider: LLMProvider, model: String) -> String {
        provider.isBuiltIn ? "\(provider.providerType.rawValue)/\(model)" : "\(provider.id)/\(model)"
    }
}
