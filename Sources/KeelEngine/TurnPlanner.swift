import Foundation
import KeelCore
import KeelSecrets
import Logging

/// A turn plan plus what a remote executor needs to rebuild it.
public struct PlannedTurn: Sendable {
    public var turn: TurnPlan
    public var capabilityRefs: [String]
    /// False when the model reference matched no provider: the first model call fails cleanly.
    public var modelResolved: Bool
    var context: EventContext { turn.context }

    /// The plan as it travels to a worker. `withKey: false` leaves the provider key out, for storage.
    public func spec(organizationID: String, withKey: Bool) -> TurnSpec {
        var spec = TurnSpec(
            plan: turn, organizationID: organizationID, capabilityRefs: capabilityRefs, unresolvedModel: !modelResolved)
        if !withKey { spec.apiKey = nil }
        return spec
    }
}

/// Folds harness ⊕ agent ⊕ session ⊕ message controls into one plan, and resolves provider keys
/// (stored key first, then the `DEFAULT_*_API_KEY` fallback).
public struct TurnPlanner: Sendable {
    public let store: any KeelStore
    public let configuration: EngineConfiguration
    let capabilities: @Sendable ([String]) throws -> [Capability]
    let cipher: SecretsCipher
    let logger: Logger

    public init(
        store: any KeelStore, configuration: EngineConfiguration,
        capabilities: @escaping @Sendable ([String]) throws -> [Capability], cipher: SecretsCipher, logger: Logger
    ) {
        self.store = store
        self.configuration = configuration
        self.capabilities = capabilities
        self.cipher = cipher
        self.logger = logger
    }

    public var modelResolver: ModelResolver { ModelResolver(store: store) }

    public func makePlan(session: Session, input: Message, turnID: String = PublicID.make(.turn)) async throws
        -> PlannedTurn
    {
        let agent: Agent? = if let agentID = session.agentID { try await store.agent(id: agentID) } else { nil }
        let providers = try await store.listProviders(organizationID: session.organizationID)
        return makePlan(session: session, agent: agent, providers: providers, input: input, turnID: turnID)
    }

    /// The plan from already-loaded records (a caller inside a transaction loads them on its own
    /// connection rather than asking the pool for another).
    public func makePlan(
        session: Session, agent: Agent?, providers: [LLMProvider], input: Message, turnID: String = PublicID.make(.turn)
    ) -> PlannedTurn {

        let refs = ((agent?.capabilities ?? []) + session.capabilities).map(\.ref)
        let capabilities: [Capability]
        do {
            capabilities = try self.capabilities(refs)
        } catch {
            logger.warning("capability unavailable for turn", metadata: ["session_id": "\(session.id)", "error": "\(error)"])
            capabilities = []
        }
        let prompt = [agent?.systemPrompt ?? BuiltIn.genericHarnessPrompt, session.systemPrompt]
            .compactMap { $0 }
            .filter { !$0.isEmpty } + capabilities.compactMap(\.systemPromptAddition)

        let reference =
            input.controls?["model_id"]?.stringValue ?? session.modelID ?? agent?.defaultModelID
            ?? configuration.defaultModelReference
        let resolved = ModelResolver.resolve(reference, among: providers)
        let endpoint: LLMEndpoint
        if let resolved {
            endpoint = LLMEndpoint(
                providerType: resolved.provider.providerType, apiKey: apiKey(for: resolved.provider),
                baseURL: resolved.provider.baseURL ?? configuration.baseURLs[resolved.provider.providerType])
        } else {
            endpoint = LLMEndpoint(providerType: .llmsim, apiKey: nil)
        }

        let turn = TurnPlan(
            sessionID: session.id, agentID: agent?.id, agentName: agent.map { $0.displayName ?? $0.name },
            turnID: turnID, inputMessageID: input.id, model: resolved?.model ?? reference,
            modelReference: reference, providerID: resolved?.provider.id, endpoint: endpoint,
            systemPrompt: prompt.joined(separator: "\n\n"), tools: capabilities.flatMap(\.tools),
            maxIterations: session.maxIterations ?? agent?.maxIterations ?? configuration.maxIterations,
            parallelToolCalls: session.parallelToolCalls ?? agent?.parallelToolCalls ?? true,
            toolTimeout: configuration.toolTimeout, deltaBatchInterval: configuration.deltaBatchInterval,
            reasoningEffort: input.controls?["reasoning"]?["effort"]?.stringValue)
        return PlannedTurn(
            turn: turn, capabilityRefs: capabilities.map(\.id), modelResolved: resolved != nil)
    }

    /// The key a spec's provider uses now (keys are resolved per step, never stored decrypted).
    public func apiKey(providerID: String?, providerType: ProviderType) async throws -> String? {
        if let providerID, let provider = try await store.provider(id: providerID) { return apiKey(for: provider) }
        return configuration.defaultAPIKeys[providerType]
    }

    /// Stored key first, then the `DEFAULT_*_API_KEY` fallback; `nil` makes the call fail cleanly.
    public func apiKey(for provider: LLMProvider) -> String? {
        if let envelope = provider.encryptedAPIKey {
            do {
                return try cipher.decrypt(envelope)
            } catch {
                logger.error(
                    "stored provider key cannot be decrypted; check SECRETS_ENCRYPTION_KEY",
                    metadata: ["provider_id": "\(provider.id)", "error": "\(error)"])
            }
        }
        return configuration.defaultAPIKeys[provider.providerType]
    }
}
