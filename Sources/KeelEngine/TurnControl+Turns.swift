import Foundation
import KeelCore

extension TurnControl {
    /// Records the message and queues its turn; the turn starts at once unless another turn of the
    /// session is running (then it starts when that one ends). All in one transaction. A caller's
    /// trace context (W3C `traceparent`) is kept on the event, so the turn's trace joins it.
    public func submit(_ message: Message, sessionID: String, organizationID: String, traceContext: TraceContext?)
        async throws -> Event
    {
        try await submit(
            message, sessionID: sessionID, organizationID: organizationID, traceContext: traceContext, onlyWhenIdle: false)
    }

    public func submitIfIdle(_ message: Message, sessionID: String, organizationID: String, traceContext: TraceContext?)
        async throws -> Event
    {
        try await submit(
            message, sessionID: sessionID, organizationID: organizationID, traceContext: traceContext, onlyWhenIdle: true)
    }

    private func submit(
        _ message: Message, sessionID: String, organizationID: String, traceContext: TraceContext?, onlyWhenIdle: Bool
    ) async throws -> Event {
        var context = EventContext(inputMessageID: message.id)
        context.traceID = traceContext?.traceID
        context.spanID = traceContext?.spanID
        let turnID = PublicID.make(.turn)
        let limit = configuration.maxQueuedMessagesPerSession
        return try await store.transaction { tx in
            guard try await tx.lockSession(sessionID, organizationID: organizationID) else {
                throw StoreError.notFound(kind: "session", id: sessionID)
            }
            // Under the session lock, so concurrent posts cannot overshoot; a refused message leaves no trace.
            let queued = try await tx.queuedTurnCount(sessionID: sessionID)
            if queued >= limit {
                throw QueuedMessageLimitExceeded(limit: limit)
            }
            // A turn waiting for a person or client is not busy: the new message supersedes its wait.
            if onlyWhenIdle {
                if queued > 0 { throw SessionBusy() }
                if let running = try await tx.runningTurn(sessionID: sessionID),
                    try await tx.turnWait(turnID: running.turnID) == nil
                {
                    throw SessionBusy()
                }
            }
            let appended = try await tx.append(
                [EventDraft(InputMessagePayload(message: message), context: context)],
                sessionID: sessionID, organizationID: organizationID)
            guard let input = appended.first else { throw StoreError.notFound(kind: "session", id: sessionID) }
            try await tx.insertQueuedTurn(turnID, sessionID: sessionID, input: message, inputSequence: input.sequence)
            if let running = try await tx.runningTurn(sessionID: sessionID) {
                // A turn waiting for its client goes on without the results; this message is next.
                try await abandonWait(
                    WaitingTurnScope(turn: running, sessionID: sessionID, organizationID: organizationID),
                    error: UserFacingText.supersededByMessage, in: tx)
            } else {
                try await startTurn(turnID, sessionID: sessionID, organizationID: organizationID, input: message, in: tx)
            }
            return input
        }
    }

    /// Cancels the running turn and every queued one. The cancellation events are recorded here,
    /// at once; executors running the turn's step are told to stop, and anything they send later
    /// is refused (their lease ended with the turn). Returns false when nothing was running.
    public func cancel(sessionID: String, organizationID: String) async throws -> Bool {
        try await store.transaction { tx in
            guard try await tx.lockSession(sessionID, organizationID: organizationID) else { return false }
            try await tx.cancelQueuedTurns(sessionID: sessionID)
            guard let turn = try await tx.runningTurn(sessionID: sessionID) else { return false }
            try await tx.cancelTasks(turnID: turn.turnID)
            try await tx.setTurnWait(turnID: turn.turnID, nil)
            let turnContext = EventContext(turnID: turn.turnID, inputMessageID: turn.inputMessageID)
            _ = try await tx.append(
                CancelledTurn.events(
                    turnID: turn.turnID, context: turnContext, model: turn.model, usage: turn.progress.usage),
                sessionID: sessionID, organizationID: organizationID)
            try await finishTurn(
                turn.turnID, sessionID: sessionID, organizationID: organizationID, context: turnContext,
                status: .cancelled, progress: turn.progress, in: tx)
            try await tx.notify(.turnCancelled(turnID: turn.turnID))
            return true
        }
    }

    /// Activates the session, records `session.activated` and `turn.started`, and queues the first
    /// reason step. The stored plan has no provider key: keys are resolved for each step.
    func startTurn(
        _ turnID: String, sessionID: String, organizationID: String, input: Message, in tx: any TurnTransaction
    ) async throws {
        // Everything is read inside the transaction (on PostgreSQL, on its connection: asking the
        // pool for another while holding this one would deadlock once every connection does so).
        // A message naming an agent of the organization (`controls.agent_id`, how an Agent Protocol
        // run names its assistant) runs with it, and the session keeps it from then on; a name
        // that is not the organization's agent changes nothing.
        let requested: Agent? =
            if let agentID = input.controls?["agent_id"]?.stringValue {
                try await tx.agent(id: agentID, organizationID: organizationID)
            } else { nil }
        let session = try await tx.updateSession(id: sessionID, organizationID: organizationID) { session in
            session.status = .active
            if session.startedAt == nil { session.startedAt = Date() }
            if let requested { session.agentID = requested.id }
        }
        let agent: Agent? =
            if let requested { requested } else if let agentID = session.agentID {
                try await tx.agent(id: agentID, organizationID: session.organizationID)
            } else { nil }
        let providers = try await tx.providers(organizationID: session.organizationID)
        let planned = planner.makePlan(session: session, agent: agent, providers: providers, input: input, turnID: turnID)
        let plan = planned.turn
        let progress = TurnProgress()
        try await tx.markRunning(
            turnID, spec: planned.spec(organizationID: session.organizationID, withKey: false), progress: progress)
        _ = try await tx.append(
            [EventDraft(SessionActivatedPayload(turnID: turnID, inputMessageID: input.id), context: plan.context),
             AgentLoop.startedEvent(plan, inputText: input.text)],
            sessionID: sessionID, organizationID: organizationID)
        try await enqueue(.firstReason(), turnID: turnID, sessionID: sessionID, progress: progress, in: tx)
    }

    func enqueue(
        _ step: TurnStep, turnID: String, sessionID: String, progress: TurnProgress, in tx: any TurnTransaction
    ) async throws {
        try await tx.enqueue(step, turnID: turnID, sessionID: sessionID, progress: progress, maxAttempts: policy.maxAttempts)
        try await tx.notify(.stepsAvailable)
    }

    /// Ends a turn: records its status, returns the session to idle with the turn's usage added,
    /// records `session.idled`, and starts the session's next queued turn, if any.
    func finishTurn(
        _ turnID: String, sessionID: String, organizationID: String, context: EventContext, status: TurnStatus,
        progress: TurnProgress, in tx: any TurnTransaction
    ) async throws {
        try await tx.endTurn(turnID, status: status, progress: progress)
        let usage = progress.usage
        let session = try await tx.updateSession(id: sessionID, organizationID: organizationID) { session in
            session.status = .idle
            session.usage = session.usage + usage
            session.pendingApprovals = []
            session.pendingQuestions = []
        }
        _ = try await tx.append(
            [EventDraft(
                SessionIdledPayload(turnID: turnID, iterations: progress.iterations, usage: session.usage),
                context: context)],
            sessionID: sessionID, organizationID: organizationID)
        if let next = try await tx.nextQueuedTurn(sessionID: sessionID) {
            try await startTurn(
                next.turnID, sessionID: sessionID, organizationID: organizationID, input: next.input, in: tx)
        }
    }
}
