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

/// Folds harness ⊕ agent ⊕ session ⊕ message controls into one plan, and resolves provider keys:
/// the stored key (bound to its provider row), else the `DEFAULT_*_API_KEY` of the type but only
/// for the operator's endpoint of that type. No key is handed out for an endpoint that fails the
/// address policy, nor when a stored key cannot be decrypted: the call then fails before any
/// network I/O (`provider_misconfigured`).
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
        let agent: Agent? =
            if let agentID = session.agentID {
                try await store.agent(id: agentID, organizationID: session.organizationID)
            } else { nil }
        let providers = try await store.listProviders(organizationID: session.organizationID)
        var planned = makePlan(session: session, agent: agent, providers: providers, input: input, turnID: turnID)
        let endpoint = planned.turn.endpoint
        if endpoint.apiKey != nil, !(await endpointAllowed(endpoint.baseURL, type: endpoint.providerType)) {
            planned.turn.endpoint.apiKey = nil
        }
        return planned
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
            let baseURL = configuration.endpointBaseURL(of: resolved.provider)
            endpoint = LLMEndpoint(
                providerType: resolved.provider.providerType, apiKey: apiKey(for: resolved.provider, baseURL: baseURL),
                baseURL: baseURL)
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
            reasoningEffort: input.controls?["reasoning"]?["effort"]?.stringValue,
            clientTools: Self.clientTools(agent: agent, session: session),
            askUser: capabilities.contains { $0.id == AskUser.capabilityID },
            approvalRule: Self.approvalRule(agent: agent, session: session, input: input))
        return PlannedTurn(
            turn: turn, capabilityRefs: capabilities.map(\.id), modelResolved: resolved != nil)
    }

    /// The agent's and the session's approval rule; a message with the control
    /// `"require_tool_approval": true` holds every tool call of its turn (the Agent Protocol's
    /// `interrupt_before: ["tools"]`).
    static func approvalRule(agent: Agent?, session: Session, input: Message) -> ToolApprovalRule {
        var rule = ToolApprovalRule(
            capabilities: (agent?.capabilities ?? []) + session.capabilities, tools: (agent?.tools ?? []) + session.tools)
        if input.controls?["require_tool_approval"]?.boolValue == true { rule.all = true }
        return rule
    }

    /// The client-side tool definitions of the agent and the session (`type` `client_side` or
    /// `client`); a session's definition replaces the agent's of the same name.
    static func clientTools(agent: Agent?, session: Session) -> [ToolDefinition] {
        let all = (agent?.tools ?? []) + session.tools
        var byName: [String: ToolDefinition] = [:]
        var order: [String] = []
        for tool in all where tool.type != "builtin" {
            if byName[tool.name] == nil { order.append(tool.name) }
            byName[tool.name] = tool
        }
        return order.compactMap { byName[$0] }
    }

    /// The key a spec's provider (of the spec's organization) uses now for calls to the spec's
    /// `baseURL` (keys are resolved per step, never stored decrypted), under the same rules as an
    /// in-process turn.
    public func apiKey(providerID: String?, organizationID: String, providerType: ProviderType, baseURL: String?)
        async throws -> String?
    {
        let key: String? =
            if let providerID, let provider = try await store.provider(id: providerID, organizationID: organizationID) {
                apiKey(for: provider, baseURL: baseURL)
            } else {
                configuration.defaultAPIKey(forEndpoint: baseURL, type: providerType)
            }
        guard key != nil, await endpointAllowed(baseURL, type: providerType) else { return nil }
        return key
    }

    /// The stored key, else the default key if `baseURL` is the operator's endpoint of the type;
    /// `nil` makes the call fail cleanly. A stored key that does not decrypt is never replaced by
    /// the default key: the turn fails, and the log names the provider, never the key or envelope.
    public func apiKey(for provider: LLMProvider, baseURL: String?) -> String? {
        guard let envelope = provider.encryptedAPIKey else {
            return configuration.defaultAPIKey(forEndpoint: baseURL, type: provider.providerType)
        }
        do {
            return try cipher.decrypt(
                envelope, boundTo: .providerKey(providerID: provider.id, organizationID: provider.organizationID))
        } catch {
            logger.error(
                "stored provider key cannot be decrypted; the turn fails (check SECRETS_ENCRYPTION_KEY)",
                metadata: ["provider_id": "\(provider.id)", "error": "\(error)"])
            return nil
        }
    }

    /// False when `baseURL` is not the operator's endpoint of the type and fails the address
    /// policy (checked at each use: DNS may have changed since the provider was saved).
    func endpointAllowed(_ baseURL: String?, type: ProviderType) async -> Bool {
        guard let baseURL, !configuration.isOperatorEndpoint(baseURL, type: type) else { return true }
        guard let refusal = await configuration.baseURLPolicy.refusal(baseURL) else { return true }
        logger.warning(
            "provider base_url refused by the address policy; the turn fails without a request",
            metadata: ["provider_type": "\(type.rawValue)", "reason": "\(refusal)"])
        return false
    }
}
