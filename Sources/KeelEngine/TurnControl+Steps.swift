import Foundation
import KeelCore

extension TurnControl {
    public func claim(workerID: String, limit: Int) async throws -> [ClaimedStep] {
        guard limit > 0 else { return [] }
        let claimed = try await store.claim(workerID: workerID, limit: limit)
        counters.add(claims: claimed.count)
        return claimed
    }

    /// The batched turn-context call: the plan with the provider key decrypted now, the
    /// conversation as of this step, and the tool results earlier attempts recorded.
    ///
    /// Only for the holder of the step's lease: the step named in the request is checked against
    /// the stored task (same turn, same session, still claimed by this lease), and the tool results
    /// are looked up for the step stored there, never for one the caller describes.
    public func context(for step: ClaimedStep) async throws -> StepContext {
        guard let leased = try await store.leasedStep(step.lease), leased.turnID == step.turnID,
            leased.sessionID == step.sessionID,
            let (storedSpec, inputSequence) = try await store.turnSpec(turnID: step.turnID)
        else { throw StepChannelError.leaseLost }
        var spec = storedSpec
        if case .reason = leased.step, !spec.unresolvedModel, let breakers {
            let call = ProviderCircuitBreakers.ProviderCall(spec)
            let decision = await breakers.admit(call)
            if case .refused = decision.admission {
                try await failFast(step, spec: spec)
                throw StepChannelError.leaseLost
            }
            providerCalls.started(taskID: step.lease.taskID, .init(provider: call, breakerWasQuiet: decision.wasQuiet))
        }
        if !spec.unresolvedModel {
            spec.apiKey = try await planner.apiKey(
                providerID: spec.providerID, organizationID: spec.organizationID, providerType: spec.providerType,
                baseURL: spec.baseURL)
        }

        // The conversation is the whole log except the messages of turns queued after this one.
        // The log is read first: a message's turn commits with its event, so every message read
        // here has its turn visible to the next read (the other order races with submit).
        let log = try await conversations.records(
            sessionID: step.sessionID, organizationID: spec.organizationID, store: planner.store, failures: decodeFailures)
        let later = try await store.laterInputMessageIDs(sessionID: step.sessionID, after: inputSequence)
        let records = MessageProjection.conversationOrder(
            log.filter { $0.type != EventType.inputMessage || !later.contains($0.inputMessageID ?? "") })
        let history = MessageProjection.inCallOrder(records.compactMap(\.message)).filter { $0.role != .system }

        var recorded: [String: JSONValue] = [:]
        if case .act(_, let message, _) = leased.step {
            let ids = message.toolCalls.map(\.id)
            recorded = try await store.toolResults(turnID: step.turnID, callIDs: ids + ids.map(ApprovalCheckpoint.key))
        }
        return StepContext(spec: spec, history: history, recordedToolResults: recorded)
    }

    /// Live events (deltas, `*.started`) are most of a turn's appends: each is one lease-checked
    /// append, outside any transaction.
    public func emit(_ events: [EventDraft], sessionID: String, lease: StepLease) async throws {
        for draft in events where try await !store.appendLive(draft, sessionID: sessionID, lease: lease) {
            throw StepChannelError.leaseLost
        }
    }

    public func recordToolResult(toolCallID: String, event: EventDraft, sessionID: String, lease: StepLease) async throws {
        try await store.transaction { tx in
            guard let task = try await tx.leasedTask(lease, exclusive: false) else { throw StepChannelError.leaseLost }
            guard
                try await tx.insertToolResult(
                    turnID: task.turnID, toolCallID: toolCallID, taskID: lease.taskID, data: event.data)
            else { return }
            try await tx.resetNoProgress(turnID: task.turnID)
            _ = try await tx.append([event], sessionID: task.sessionID, organizationID: task.organizationID)
        }
    }

    public func heartbeat(_ lease: StepLease) async throws -> Bool {
        try await store.heartbeat(lease)
    }

    /// Commits the step's result events, marks it done and either queues the next step or ends
    /// the turn (and starts the session's next one) — in one transaction.
    public func complete(_ lease: StepLease, _ completion: StepCompletion) async throws {
        let task = try await store.transaction { tx in
            guard let task = try await tx.leasedTask(lease, exclusive: true) else { throw StepChannelError.leaseLost }
            _ = try await tx.append(completion.events, sessionID: task.sessionID, organizationID: task.organizationID)
            try await tx.completeTask(lease.taskID)
            try await tx.saveProgress(turnID: task.turnID, completion.progress)
            if let request = completion.waitingFor, !request.calls.isEmpty, let next = completion.next {
                try await startWait(for: request, resuming: next, task: task, in: tx)
            } else if let next = completion.next {
                try await enqueue(
                    next, turnID: task.turnID, sessionID: task.sessionID, progress: completion.progress, in: tx)
            } else {
                let status: TurnStatus = if case .failed? = completion.outcome { .failed } else { .completed }
                try await finishTurn(
                    task.turnID, sessionID: task.sessionID, organizationID: task.organizationID,
                    context: task.context, status: status, progress: completion.progress, in: tx)
            }
            return task
        }
        if task.kind == "reason" { await recordProviderOutcome(taskID: lease.taskID, completion.outcome) }
    }

    /// A failed attempt is retried with backoff, or dead-lettered (ending its turn with
    /// `turn.failed`) once its attempts are used up.
    public func fail(_ lease: StepLease, error: String) async throws {
        _ = providerCalls.finished(taskID: lease.taskID)
        try await store.transaction { tx in
            guard let task = try await tx.leasedTask(lease, exclusive: true) else { throw StepChannelError.leaseLost }
            guard task.attempt >= task.maxAttempts else {
                try await tx.retryTask(lease.taskID, error: error, after: policy.retryDelay(afterAttempt: task.attempt))
                return
            }
            try await deadLetter(
                lease.taskID, task, reason: "attempts_exhausted", error: error, errorCode: "processing_error",
                message: UserFacingText.turnFailure, in: tx)
        }
    }

    /// Hands the attempt back (a release is not a failure) but not the lease: the next claim
    /// takes a new lease epoch, so this lease stays invalid.
    public func release(_ lease: StepLease) async throws {
        _ = providerCalls.finished(taskID: lease.taskID)
        try await store.transaction { tx in
            guard try await tx.leasedTask(lease, exclusive: true) != nil else { throw StepChannelError.leaseLost }
            try await tx.releaseTask(lease.taskID)
            try await tx.notify(.stepsAvailable)
        }
    }

    public func notifications(workerID: String) -> AsyncThrowingStream<StepNotification, any Error> {
        signals.subscribe()
    }

    public func fileSystem(sessionID: String, lease: StepLease) -> any SessionFileSystem {
        LeaseCheckedFileSystem(files: store.files(sessionID: sessionID)) { [store] in
            guard let leased = try await store.leasedStep(lease), leased.sessionID == sessionID else {
                throw StepChannelError.leaseLost
            }
        }
    }

    /// Moves a task to the dead letters and ends its turn with `turn.failed`.
    func deadLetter(
        _ taskID: String, _ task: LeasedTask, reason: String, error: String?, errorCode: String, message: String,
        in tx: any TurnTransaction
    ) async throws {
        try await tx.deadLetterTask(taskID, task, reason: reason, error: error)
        counters.add(deadLetters: 1)
        logger.error(
            "step dead-lettered; ending its turn",
            metadata: ["task_id": "\(taskID)", "turn_id": "\(task.turnID)", "reason": "\(reason)",
                       "attempts": "\(task.attempt)"])
        _ = try await tx.append(
            [EventDraft(
                TurnFailedPayload(
                    turnID: task.turnID, error: message, errorCode: errorCode, iterations: task.progress.iterations),
                context: task.context)],
            sessionID: task.sessionID, organizationID: task.organizationID)
        try await finishTurn(
            task.turnID, sessionID: task.sessionID, organizationID: task.organizationID, context: task.context,
            status: .failed, progress: task.progress, in: tx)
    }
}
