import Foundation
import KeelCore

extension TurnEngine {
    /// One turn: activate the session, run the loop (racing a cancel request), record how it
    /// ended, and return the session to idle with its usage updated.
    func runTurn(input: PendingInput, sessionID: String, handle: TurnHandle) async {
        let context = EventContext(inputMessageID: input.message.id)
        do {
            guard let session = try await store.session(id: sessionID) else { return }
            let plan = try await planner.makePlan(session: session, input: input.message)
            let turnContext = plan.context
            try await store.updateSession(id: sessionID) { session in
                session.status = .active
                if session.startedAt == nil { session.startedAt = Date() }
            }
            try await emit(EventType.sessionActivated, sessionID, turnContext,
                           ["turn_id": .string(plan.turn.turnID), "input_message_id": .string(input.message.id)])

            let history = MessageProjection.messages(
                from: try await store.events(sessionID: sessionID, EventQuery(types: MessageProjection.sourceTypes)))
                .filter { $0.role != .system }
            let driver: any LLMDriver =
                plan.modelResolved ? dependencies.driver(plan.turn.endpoint.providerType)
                : UnavailableModelDriver(error: .unknownModel(plan.turn.modelReference))
            let loop = AgentLoop(
                driver: driver, sink: StoreEventSink(store: store, sessionID: sessionID),
                toolContext: ToolContext(
                    sessionID: sessionID, organizationID: session.organizationID,
                    files: dependencies.fileSystem(sessionID)),
                logger: logger)

            let outcome: TurnOutcome? = await withTaskGroup(of: TurnOutcome?.self) { group in
                group.addTask {
                    do {
                        return try await loop.run(plan.turn, history: history, inputText: input.message.text)
                    } catch {
                        if !(error is CancellationError) && !Task.isCancelled {
                            self.logger.error("turn aborted", metadata: ["session_id": "\(sessionID)", "error": "\(error)"])
                        }
                        return nil
                    }
                }
                group.addTask {
                    await handle.waitForCancelRequest()
                    return nil
                }
                let first = await group.next() ?? nil
                group.cancelAll()
                return first
            }

            let turnUsage: Usage =
                if let outcome { outcome.usage } else {
                    try await recordEnd(plan: plan.turn, sessionID: sessionID, cancelled: handle.wasCancelled)
                }
            let updated = try await store.updateSession(id: sessionID) { session in
                session.status = .idle
                session.usage = session.usage + turnUsage
            }
            try await emit(
                EventType.sessionIdled, sessionID, turnContext,
                ["turn_id": .string(plan.turn.turnID), "iterations": .init(outcome?.iterations ?? 0),
                 "usage": updated.usage.json])
        } catch {
            // Only storage failures land here (e.g. the session was deleted mid-turn).
            logger.error("turn could not be recorded", metadata: ["session_id": "\(sessionID)", "error": "\(error)"])
            _ = try? await emit(EventType.sessionIdled, sessionID, context, ["usage": Usage().json])
        }
    }

    /// Records a turn that did not reach a terminal event of its own: cancelled by the user, or
    /// aborted by an unexpected error. Exactly one terminal event is written either way.
    private func recordEnd(plan: TurnPlan, sessionID: String, cancelled: Bool) async throws -> Usage {
        let usage = try await usageSoFar(sessionID: sessionID, turnID: plan.turnID)
        if cancelled {
            for draft in CancelledTurn.events(turnID: plan.turnID, context: plan.context, model: plan.model, usage: usage) {
                _ = try await store.appendEvent(sessionID: sessionID, draft)
            }
        } else {
            try await emit(
                EventType.turnFailed, sessionID, plan.context,
                ["turn_id": .string(plan.turnID), "error": .string(UserFacingText.turnFailure),
                 "error_code": "processing_error"])
        }
        return usage
    }

    /// Sums the usage of the turn's completed model calls, from its `llm.generation` events.
    private func usageSoFar(sessionID: String, turnID: String) async throws -> Usage {
        try await store.events(sessionID: sessionID, EventQuery(types: [EventType.llmGeneration]))
            .filter { $0.context.turnID == turnID }
            .compactMap { try? $0.data["metadata"]?["usage"]?.decode(Usage.self) }
            .reduce(Usage(), +)
    }

    @discardableResult
    func emit(_ type: EventType, _ sessionID: String, _ context: EventContext, _ data: JSONValue) async throws -> Event {
        try await store.appendEvent(sessionID: sessionID, EventDraft(type: type, context: context, data: data))
    }
}
