import Foundation
import KeelCore

/// A turn plan plus the driver that serves its model.
struct PlannedTurn: Sendable {
    var turn: TurnPlan
    var driver: any LLMDriver
    var context: EventContext { turn.context }
}

extension TurnEngine {
    /// Folds harness ⊕ agent ⊕ session ⊕ message controls into one plan.
    func makePlan(session: Session, input: Message) async throws -> PlannedTurn {
        let agent: Agent? = if let agentID = session.agentID { try await store.agent(id: agentID) } else { nil }

        let refs = ((agent?.capabilities ?? []) + session.capabilities).map(\.ref)
        let capabilities: [Capability]
        do {
            capabilities = try dependencies.capabilities(refs)
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
        let resolved = try await modelResolver.resolve(reference, organizationID: session.organizationID)
        let driver: any LLMDriver
        let endpoint: LLMEndpoint
        if let resolved {
            driver = dependencies.driver(resolved.provider.providerType)
            endpoint = LLMEndpoint(
                providerType: resolved.provider.providerType, apiKey: apiKey(for: resolved.provider),
                baseURL: resolved.provider.baseURL ?? configuration.baseURLs[resolved.provider.providerType])
        } else {
            driver = UnavailableModelDriver(error: .unknownModel(reference))
            endpoint = LLMEndpoint(providerType: .llmsim, apiKey: nil)
        }

        let turn = TurnPlan(
            sessionID: session.id, agentID: agent?.id, agentName: agent.map { $0.displayName ?? $0.name },
            inputMessageID: input.id, model: resolved?.model ?? reference,
            modelReference: reference, providerID: resolved?.provider.id, endpoint: endpoint,
            systemPrompt: prompt.joined(separator: "\n\n"), tools: capabilities.flatMap(\.tools),
            maxIterations: session.maxIterations ?? agent?.maxIterations ?? configuration.maxIterations,
            parallelToolCalls: session.parallelToolCalls ?? agent?.parallelToolCalls ?? true,
            toolTimeout: configuration.toolTimeout, deltaBatchInterval: configuration.deltaBatchInterval,
            reasoningEffort: input.controls?["reasoning"]?["effort"]?.stringValue)
        return PlannedTurn(turn: turn, driver: driver)
    }

    /// Stored key first, then the `DEFAULT_*_API_KEY` fallback; `nil` makes the call fail cleanly.
    func apiKey(for provider: LLMProvider) -> String? {
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
