import Foundation
import KeelCore

extension TurnControl {
    /// The text a rejected call's error result carries.
    public static func rejectedText(_ reason: String?) -> String {
        guard let reason, !reason.isEmpty else { return "Rejected by user" }
        return "Rejected by user: \(reason)"
    }

    /// The act step waits for `request`: the turn holds no task until every call has its result
    /// or decision, a deadline passes or a new message arrives. The session shows
    /// `waitingfortoolresults` and what it waits on (`pending_approvals`, `pending_questions`).
    func startWait(for request: WaitRequest, resuming step: TurnStep, task: LeasedTask, in tx: any TurnTransaction)
        async throws
    {
        let now = Date()
        let wait = TurnWait(
            request: request, step: step, since: now,
            deadline: now.addingTimeInterval(configuration.toolResultTimeout.inSeconds))
        try await tx.setTurnWait(turnID: task.turnID, wait)
        _ = try await tx.updateSession(id: task.sessionID, organizationID: task.organizationID) { session in
            session.status = .waitingForToolResults
            Self.showPending(wait, on: &session)
        }
    }

    /// `pending_approvals` and `pending_questions` as `wait` leaves them.
    static func showPending(_ wait: TurnWait?, on session: inout Session) {
        let pending = wait.map { wait in wait.calls.filter { wait.pendingCallIDs.contains($0.id) } } ?? []
        let since = wait?.since ?? Date()
        session.pendingApprovals =
            wait?.waitsForApproval == true
            ? pending.map { PendingApproval(toolCallID: $0.id, toolName: $0.name, arguments: $0.arguments, requestedAt: since) }
            : []
        session.pendingQuestions = pending.compactMap { call in
            guard wait?.isQuestion(call.id) == true, let questions = try? AskUser.questions(from: call.arguments) else {
                return nil
            }
            return PendingQuestionSet(toolCallID: call.id, questions: questions, requestedAt: since)
        }
    }

    public func submitToolResults(_ results: [ClientToolResult], sessionID: String, organizationID: String)
        async throws -> HumanInputAccepted
    {
        try await withWait(.toolResults, accepted: results.count, sessionID: sessionID, organizationID: organizationID) { wait, turn, tx in
            guard !wait.waitsForApproval else { throw HumanInputError.notWaiting(.toolResults) }
            try Self.checkIDs(results.map(\.toolCallID), in: wait) { !wait.isQuestion($0) }
            let entries = results.map { result in
                Self.resultEntry(
                    callID: result.toolCallID, of: wait, result: result.result, error: result.error, context: turn.context)
            }
            return try await self.record(entries, of: wait, turn: turn, in: tx)
        }
    }

    public func submitApprovals(_ decisions: [ToolApprovalDecision], sessionID: String, organizationID: String)
        async throws -> HumanInputAccepted
    {
        try await withWait(.toolApprovals, accepted: decisions.count, sessionID: sessionID, organizationID: organizationID) { wait, turn, tx in
            guard wait.waitsForApproval else { throw HumanInputError.notWaiting(.toolApprovals) }
            try Self.checkIDs(decisions.map(\.toolCallID), in: wait) { _ in true }
            let entries = decisions.map { decision in
                Self.decisionEntry(decision, of: wait, rejection: Self.rejectedText(decision.reason), context: turn.context)
            }
            return try await self.record(entries, of: wait, turn: turn, in: tx)
        }
    }

    public func submitAnswers(_ answers: QuestionAnswers, sessionID: String, organizationID: String)
        async throws -> HumanInputAccepted
    {
        try await withWait(.questionAnswers, accepted: 1, sessionID: sessionID, organizationID: organizationID) { wait, turn, tx in
            let open = wait.waitsForApproval ? [] : wait.pendingCallIDs.filter(wait.isQuestion)
            guard !open.isEmpty else { throw HumanInputError.notWaiting(.questionAnswers) }
            let callID: String
            if let named = answers.toolCallID {
                try Self.checkIDs([named], in: wait) { wait.isQuestion($0) }
                callID = named
            } else {
                guard open.count == 1 else { throw HumanInputError.questionSetNotNamed }
                callID = open[0]
            }
            let questions = wait.call(callID).flatMap { try? AskUser.questions(from: $0.arguments) } ?? []
            guard questions.count == answers.answers.count else {
                throw HumanInputError.answerCount(expected: questions.count, got: answers.answers.count)
            }
            let entry = Self.resultEntry(
                callID: callID, of: wait, result: AskUser.result(questions: questions, answers: answers.answers), error: nil,
                context: turn.context)
            return try await self.record([entry], of: wait, turn: turn, in: tx)
        }
    }

    /// Runs `body` on the session's waiting turn, in one transaction that holds the session lock;
    /// answers that `accepted` entries were recorded.
    private func withWait(
        _ kind: HumanInputKind, accepted: Int, sessionID: String, organizationID: String,
        _ body: @Sendable @escaping (TurnWait, WaitingTurnScope, any TurnTransaction) async throws -> SessionStatus
    ) async throws -> HumanInputAccepted {
        try await store.transaction { tx in
            guard try await tx.lockSession(sessionID, organizationID: organizationID) else {
                throw StoreError.notFound(kind: "session", id: sessionID)
            }
            guard let turn = try await tx.runningTurn(sessionID: sessionID),
                let wait = try await tx.turnWait(turnID: turn.turnID)
            else { throw HumanInputError.notWaiting(kind) }
            let scope = WaitingTurnScope(turn: turn, sessionID: sessionID, organizationID: organizationID)
            return HumanInputAccepted(accepted: accepted, status: try await body(wait, scope, tx))
        }
    }

    /// Every id once, each a pending call of the wait that `belongs` to this kind of input.
    private static func checkIDs(_ ids: [String], in wait: TurnWait, belongs: (String) -> Bool) throws {
        var seen: Set<String> = []
        for id in ids {
            guard seen.insert(id).inserted else { throw HumanInputError.duplicate(id) }
            guard wait.call(id) != nil, belongs(id) else { throw HumanInputError.unknownCall(id) }
            guard wait.pendingCallIDs.contains(id) else { throw HumanInputError.duplicate(id) }
        }
    }

    /// One call's part of a submission: the checkpoint that settles it and the events that say so.
    struct WaitEntry: Sendable {
        var callID: String
        var checkpointKey: String
        var checkpoint: JSONValue
        var events: [EventDraft]
    }

    /// A call's result as `tool.completed`, the checkpoint the resumed act step reads.
    static func resultEntry(callID: String, of wait: TurnWait, result: JSONValue?, error: String?, context: EventContext)
        -> WaitEntry
    {
        let draft = EventDraft(
            ToolCompletedPayload(
                toolCallID: callID, toolName: wait.call(callID)?.name ?? "", success: error == nil,
                status: error == nil ? "success" : "error", durationMS: max(0, Int(Date().timeIntervalSince(wait.since) * 1000)),
                result: result, error: error),
            context: context)
        return WaitEntry(callID: callID, checkpointKey: callID, checkpoint: draft.data, events: [draft])
    }

    /// A decision as `tool.approval_decided`; an approval is checkpointed under its own key (the
    /// call then runs), a rejection as the call's error result.
    static func decisionEntry(_ decision: ToolApprovalDecision, of wait: TurnWait, rejection: String, context: EventContext)
        -> WaitEntry
    {
        let decided = EventDraft(
            ToolApprovalDecidedPayload(
                toolCallID: decision.toolCallID, toolName: wait.call(decision.toolCallID)?.name ?? "",
                approved: decision.approved, reason: decision.reason),
            context: context)
        guard !decision.approved else {
            return WaitEntry(
                callID: decision.toolCallID, checkpointKey: ApprovalCheckpoint.key(decision.toolCallID),
                checkpoint: decided.data, events: [decided])
        }
        var rejected = resultEntry(callID: decision.toolCallID, of: wait, result: nil, error: rejection, context: context)
        rejected.events.insert(decided, at: 0)
        return rejected
    }

    /// Records the entries and, once no call is pending, ends the wait and queues the act step
    /// again. Returns the session's status.
    private func record(_ entries: [WaitEntry], of wait: TurnWait, turn: WaitingTurnScope, in tx: any TurnTransaction)
        async throws -> SessionStatus
    {
        var remaining = wait.pendingCallIDs
        for entry in entries {
            guard
                try await tx.insertToolResult(
                    turnID: turn.turnID, toolCallID: entry.checkpointKey, taskID: "client", data: entry.checkpoint)
            else { throw HumanInputError.duplicate(entry.callID) }
            _ = try await tx.append(entry.events, sessionID: turn.sessionID, organizationID: turn.organizationID)
            remaining.removeAll { $0 == entry.callID }
        }
        var still = wait
        still.pendingCallIDs = remaining
        let updated: TurnWait? = remaining.isEmpty ? nil : still
        try await tx.setTurnWait(turnID: turn.turnID, updated)
        _ = try await tx.updateSession(id: turn.sessionID, organizationID: turn.organizationID) { session in
            session.status = updated == nil ? .active : .waitingForToolResults
            Self.showPending(updated, on: &session)
        }
        guard updated == nil else { return .waitingForToolResults }
        try await enqueue(wait.step, turnID: turn.turnID, sessionID: turn.sessionID, progress: turn.turn.progress, in: tx)
        return .active
    }

    /// Settles every pending call of a waiting turn — an error result, or a rejection with
    /// `error` as its reason — and resumes it (the deadline passed, or the user sent a new
    /// message). No-op when the turn does not wait.
    func abandonWait(_ turn: WaitingTurnScope, error: String, in tx: any TurnTransaction) async throws {
        guard let wait = try await tx.turnWait(turnID: turn.turnID) else { return }
        let entries = wait.pendingCallIDs.map { id in
            wait.waitsForApproval
                ? Self.decisionEntry(
                    ToolApprovalDecision(toolCallID: id, approved: false, reason: error), of: wait, rejection: error,
                    context: turn.context)
                : Self.resultEntry(callID: id, of: wait, result: nil, error: error, context: turn.context)
        }
        _ = try await record(entries, of: wait, turn: turn, in: tx)
    }

    /// Ends the waits whose deadline passed, about once a second, in both configurations.
    func waitDeadlineLoop() async {
        while !Task.isCancelled {
            do {
                for waiting in try await store.expiredWaits(now: Date(), limit: 100) {
                    try await store.transaction { tx in
                        guard try await tx.lockSession(waiting.sessionID, organizationID: waiting.organizationID),
                            let turn = try await tx.runningTurn(sessionID: waiting.sessionID),
                            turn.turnID == waiting.turnID,
                            let wait = try await tx.turnWait(turnID: turn.turnID), wait.deadline < Date()
                        else { return }
                        try await abandonWait(
                            WaitingTurnScope(turn: turn, sessionID: waiting.sessionID, organizationID: waiting.organizationID),
                            error: wait.waitsForApproval ? UserFacingText.approvalTimedOut : UserFacingText.clientResultTimedOut, in: tx)
                    }
                }
            } catch where !Task.isCancelled {
                logger.warning("wait deadline sweep failed", metadata: ["error": "\(error)"])
            } catch {}
            try? await Task.sleep(for: .seconds(1))
        }
    }
}

/// A session's running turn, where the wait's events go.
struct WaitingTurnScope: Sendable {
    var turn: RunningTurn
    var sessionID: String
    var organizationID: String

    var turnID: String { turn.turnID }
    var context: EventContext { EventContext(turnID: turn.turnID, inputMessageID: turn.inputMessageID) }
}
