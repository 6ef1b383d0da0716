import Foundation
import KeelCore

/// What operators do to the durable engine (the `/v1/durable` API): workers report and are
/// drained, dead letters are requeued, turns are cancelled. Every change is written to the
/// operations log with who made it.
extension TurnControl {
    public func reportWorker(_ report: WorkerReport) async throws -> WorkerDirective {
        guard let operations else { return .run }
        return try await operations.recordWorker(report)
    }

    /// The operations store; `OperationsError.unavailable` in DEV_MODE.
    public func requireOperations() throws(OperationsError) -> any OperationsStore {
        guard let operations else { throw .unavailable }
        return operations
    }

    /// Drains a worker (it finishes its steps and claims nothing new; claims it still sends are
    /// answered with nothing) or lets it claim again.
    public func setDraining(workerID: String, _ draining: Bool, by actor: String) async throws -> WorkerRecord {
        let operations = try requireOperations()
        guard let worker = try await operations.setDraining(workerID: workerID, draining, staleAfter: policy.staleThreshold)
        else { throw OperationsError.notFound(kind: "worker", id: workerID) }
        try await operations.appendEvent(
            type: draining ? OperationsEvent.Kind.workerDraining : OperationsEvent.Kind.workerResumed,
            organizationID: nil, data: ["worker_id": .string(workerID), "by": .string(actor)])
        return worker
    }

    /// Closes one of the scope's breakers now (any for the platform).
    public func resetBreaker(key: String, _ scope: OperationsScope, by actor: String) async throws -> CircuitBreakerState {
        guard key.utf8.count <= 512, let breakers,
            let state = try await breakers.reset(key: key, organizationID: scope.organizationID)
        else { throw OperationsError.notFound(kind: "circuit breaker", id: String(key.prefix(200))) }
        try await operations?.appendEvent(
            type: OperationsEvent.Kind.breakerReset, organizationID: state.organizationID,
            data: ["key": .string(key), "by": .string(actor)])
        return state
    }

    /// Puts a dead letter's step back in the queue with fresh attempts; its turn runs again from
    /// that step (the session becomes active, `session.activated` is recorded). Refused while the
    /// session runs another turn, and for a letter already requeued.
    public func requeueDeadLetter(taskID: String, _ scope: OperationsScope, by actor: String) async throws
        -> DeadLetterRecord
    {
        let operations = try requireOperations()
        guard let letter = try await operations.deadLetter(taskID: taskID, scope) else {
            throw OperationsError.notFound(kind: "dead letter", id: taskID)
        }
        try await store.transaction { tx in
            guard try await tx.lockSession(letter.sessionID, organizationID: letter.organizationID) else {
                throw OperationsError.notFound(kind: "dead letter", id: taskID)
            }
            guard let task = try await tx.deadTask(taskID) else {
                throw OperationsError.conflict(
                    code: "already_requeued", message: "This dead letter was requeued already")
            }
            guard try await !tx.hasRunningTurn(sessionID: letter.sessionID) else {
                throw OperationsError.conflict(
                    code: "session_busy",
                    message: "The session is running another turn; requeue the dead letter once the session is idle")
            }
            // The usage before the failure was added to the session when the turn failed: the
            // resumed turn counts only what it uses from now on.
            var progress = task.progress
            progress.usage = Usage()
            try await tx.requeueDeadTask(taskID, turnID: task.turnID, progress: progress)
            _ = try await tx.updateSession(id: letter.sessionID, organizationID: letter.organizationID) {
                $0.status = .active
            }
            _ = try await tx.append(
                [EventDraft(
                    SessionActivatedPayload(turnID: task.turnID, inputMessageID: task.inputMessageID),
                    context: task.context)],
                sessionID: letter.sessionID, organizationID: letter.organizationID)
            try await tx.notify(.stepsAvailable)
        }
        try await operations.appendEvent(
            type: OperationsEvent.Kind.deadLetterRequeued, organizationID: letter.organizationID,
            data: ["task_id": .string(taskID), "turn_id": .string(letter.turnID),
                   "session_id": .string(letter.sessionID), "by": .string(actor)])
        return try await operations.deadLetter(taskID: taskID, scope) ?? letter
    }

    /// Cancels a running turn as the session's cancel does (its queued successors are dropped too).
    public func cancelTurn(turnID: String, _ scope: OperationsScope, by actor: String) async throws -> DurableTurnRecord {
        let operations = try requireOperations()
        guard let turn = try await operations.turn(id: turnID, scope) else {
            throw OperationsError.notFound(kind: "turn", id: turnID)
        }
        guard turn.status == TurnStatus.running.rawValue,
            try await cancel(sessionID: turn.sessionID, organizationID: turn.organizationID)
        else {
            throw OperationsError.conflict(code: "turn_not_running", message: "The turn is \(turn.status), not running")
        }
        try await operations.appendEvent(
            type: OperationsEvent.Kind.turnCancelled, organizationID: turn.organizationID,
            data: ["turn_id": .string(turnID), "session_id": .string(turn.sessionID), "by": .string(actor)])
        return try await operations.turn(id: turnID, scope) ?? turn
    }

    /// Ends the turn of a reason step whose provider's breaker is open, at once, the way a failed
    /// model call ends it (the apology message and `turn.failed`), with `provider_unavailable`.
    func failFast(_ step: ClaimedStep, spec: TurnSpec) async throws {
        try await store.transaction { tx in
            guard let task = try await tx.leasedTask(step.lease, exclusive: true) else { throw StepChannelError.leaseLost }
            let messageID: String = if case .reason(_, let id) = step.step { id } else { PublicID.make(.message) }
            _ = try await tx.append(
                FailedModelCall.events(
                    turnID: task.turnID, messageID: messageID, model: spec.model, iterations: task.progress.iterations,
                    errorCode: ProviderCircuitBreakers.unavailableCode, context: task.context),
                sessionID: task.sessionID, organizationID: task.organizationID)
            try await tx.completeTask(step.lease.taskID)
            try await finishTurn(
                task.turnID, sessionID: task.sessionID, organizationID: task.organizationID, context: task.context,
                status: .failed, progress: task.progress, in: tx)
        }
        logger.warning(
            "turn failed fast: the provider's circuit breaker is open",
            metadata: ["turn_id": "\(step.turnID)", "provider": "\(spec.providerType.rawValue)", "model": "\(spec.model)"])
    }

    /// Counts a finished reason step for its provider's breaker.
    func recordProviderOutcome(taskID: String, _ outcome: TurnOutcome?) async {
        guard let breakers, let call = providerCalls.finished(taskID: taskID) else { return }
        let failureCode: String? = if case .failed(_, _, let code)? = outcome { code } else { nil }
        await breakers.record(call.provider, failureCode: failureCode, wasQuiet: call.breakerWasQuiet)
    }
}
