import Foundation

extension AgentLoop {
    /// What an act step came to: one `tool_result` message per call, or what it waits for (then
    /// the step runs again once that is in).
    enum ActResult {
        case results([Message])
        case waiting(WaitRequest)
    }

    /// Runs the tool calls of one step — concurrently unless the plan forbids it — and returns
    /// one `tool_result` message per call, in call order. Failures become error results. Calls in
    /// `recorded` (finished by an earlier attempt of the step, or results the client posted) are
    /// not run again: their recorded outcome is reused and their events are already in the log.
    ///
    /// Some calls cannot finish here. A call held for approval waits for a decision
    /// (`tool.approval_requested`); once approved (an `ApprovalCheckpoint` in `recorded`) it runs
    /// like any other, and a rejection is recorded as its result. A client-side call or an
    /// `ask_user` question waits for the client (`tool.call_requested`, `question.requested`).
    /// The server calls that need nothing run first; approvals are asked before the client.
    /// `act.started` opens the step's first attempt only (a step with recorded results is a
    /// resumption or a retry).
    func act(_ plan: TurnPlan, calls: [ToolCall], skipBecauseOfCap: Bool, recorded: [String: JSONValue]) async throws
        -> ActResult
    {
        let context = plan.context
        let started = ContinuousClock.now
        if recorded.isEmpty {
            try await sink.emit(
                ActStartedPayload(toolCalls: calls.map { ActStartedPayload.Call(id: $0.id, name: $0.name) }),
                context: context)
        }
        let open = skipBecauseOfCap ? [] : calls.filter { recorded[$0.id] == nil }
        let held = open.filter { plan.needsApproval($0) && recorded[ApprovalCheckpoint.key($0.id)] == nil }
        let heldIDs = Set(held.map(\.id))
        let questions = open.compactMap { call -> (call: ToolCall, set: [UserQuestion])? in
            guard plan.isQuestion(call), let set = try? AskUser.questions(from: call.arguments) else { return nil }
            return (call, set)
        }
        let toClient = open.filter { plan.isClientCall($0) && !plan.isQuestion($0) && !heldIDs.contains($0.id) }
        let waitingIDs = heldIDs.union(questions.map(\.call.id)).union(toClient.map(\.id))
        let runnable = calls.filter { !waitingIDs.contains($0.id) }

        var outcomes: [ToolOutcome]
        if skipBecauseOfCap {
            let reason = "Not executed: the turn reached its limit of \(plan.maxIterations) iterations."
            outcomes = calls.map { call in
                if let data = recorded[call.id] { return ToolOutcome(recorded: data, call: call) }
                return ToolOutcome(call: call, result: nil, error: reason, status: "cancelled", durationMS: 0)
            }
            for outcome in outcomes where recorded[outcome.call.id] == nil { try await emitCompleted(outcome, context: context) }
        } else if plan.parallelToolCalls && runnable.count > 1 {
            outcomes = try await withThrowingTaskGroup(of: (Int, ToolOutcome).self) { group in
                for (index, call) in runnable.enumerated() {
                    group.addTask { (index, try await runTool(call, plan: plan, recorded: recorded[call.id])) }
                }
                var collected = [ToolOutcome?](repeating: nil, count: runnable.count)
                for try await (index, outcome) in group { collected[index] = outcome }
                return collected.compactMap { $0 }
            }
        } else {
            outcomes = []
            for call in runnable { outcomes.append(try await runTool(call, plan: plan, recorded: recorded[call.id])) }
        }
        if !held.isEmpty {
            try await sink.emit(ToolApprovalRequestedPayload(toolCalls: held), context: context)
            return .waiting(WaitRequest(kind: .approval, calls: held))
        }
        if !toClient.isEmpty || !questions.isEmpty {
            if !toClient.isEmpty { try await sink.emit(ToolCallRequestedPayload(toolCalls: toClient), context: context) }
            for question in questions {
                try await sink.emit(
                    QuestionRequestedPayload(toolCallID: question.call.id, questions: question.set), context: context)
            }
            return .waiting(
                WaitRequest(
                    kind: .results, calls: calls.filter { waitingIDs.contains($0.id) },
                    questionCallIDs: questions.map(\.call.id)))
        }

        let successes = outcomes.filter { $0.error == nil }.count
        try await sink.emit(
            ActCompletedPayload(
                completed: !skipBecauseOfCap, successCount: successes, errorCount: outcomes.count - successes,
                durationMS: milliseconds(since: started)),
            context: context)
        return .results(
            outcomes.map { outcome in
                Message(
                    role: .toolResult,
                    content: [.toolResult(toolCallID: outcome.call.id, result: outcome.result, error: outcome.error)])
            })
    }

    private func runTool(_ call: ToolCall, plan: TurnPlan, recorded: JSONValue?) async throws -> ToolOutcome {
        if let recorded { return ToolOutcome(recorded: recorded, call: call) }
        try await sink.emit(ToolStartedPayload(toolCall: call), context: plan.context)
        let started = ContinuousClock.now
        let outcome: ToolOutcome
        if plan.isQuestion(call) {
            // Only a malformed question set gets here: a well-formed one waits for the user.
            var problem = "ask_user arguments are not a question set"
            do { _ = try AskUser.questions(from: call.arguments) } catch { problem = error.message }
            outcome = ToolOutcome(call: call, result: nil, error: problem, status: "error", durationMS: 0)
        } else if let tool = plan.tools.first(where: { $0.definition.name == call.name }) {
            let limit = tool.timeout ?? plan.toolTimeout
            do {
                // withDeadline, not withTimeout: the call is reported at the limit even when the
                // tool's code ignores cancellation (the turn goes on; the call is cancelled).
                let result = try await withDeadline(limit, throwing: { ToolTimedOut() }) {
                    try await tool.call(call.arguments, context: toolContext)
                }
                outcome = ToolOutcome(call: call, result: result, error: nil, status: "success", durationMS: milliseconds(since: started))
            } catch is ToolTimedOut {
                outcome = ToolOutcome(
                    call: call, result: nil, error: "Tool timed out after \(limit.shortDescription)", status: "timeout",
                    durationMS: milliseconds(since: started))
            } catch let error as ToolError {
                outcome = ToolOutcome(call: call, result: nil, error: error.message, status: "error", durationMS: milliseconds(since: started))
            } catch {
                if Task.isCancelled { throw CancellationError() }
                // An unexpected error may carry internal types, paths or data: the model (and the
                // event log) get only its type name; the detail goes to the log, truncated.
                let detail = String(describing: error)
                logger.warning(
                    "tool failed", metadata: ["tool": "\(call.name)", "error_type": "\(type(of: error))",
                                              "error": "\(detail.prefix(Self.maxLoggedErrorCharacters))"])
                outcome = ToolOutcome(
                    call: call, result: nil, error: Self.internalToolFailure(error), status: "error",
                    durationMS: milliseconds(since: started))
            }
        } else {
            outcome = ToolOutcome(
                call: call, result: nil, error: "Unknown tool: \(call.name)", status: "error", durationMS: milliseconds(since: started))
        }
        try Task.checkCancellation()
        try await emitCompleted(outcome, context: plan.context)
        return outcome
    }

    /// Longest error description logged for an unexpected tool failure.
    static var maxLoggedErrorCharacters: Int { 500 }

    /// What the model is told about an unexpected (non-`ToolError`) tool failure: the error's
    /// type name only, never its description.
    static func internalToolFailure(_ error: any Error) -> String {
        "Tool failed: internal error (\(type(of: error)))"
    }

    private func emitCompleted(_ outcome: ToolOutcome, context: EventContext) async throws {
        let completed = ToolCompletedPayload(
            toolCallID: outcome.call.id, toolName: outcome.call.name, success: outcome.error == nil,
            status: outcome.status, durationMS: outcome.durationMS, result: outcome.result, error: outcome.error)
        try await sink.emit(completed, context: context)
    }
}

struct ToolOutcome: Sendable {
    var call: ToolCall
    var result: JSONValue?
    var error: String?
    var status: String
    var durationMS: Int
}

extension ToolOutcome {
    /// The outcome a `tool.completed` event recorded. A record that does not decode becomes an
    /// error result for the model rather than running the tool a second time.
    init(recorded data: JSONValue, call: ToolCall) {
        guard let recorded = try? data.decode(ToolCompletedPayload.self) else {
            self.init(call: call, result: nil, error: "the recorded result of this tool call is unreadable", status: "error", durationMS: 0)
            return
        }
        self.init(
            call: call, result: recorded.result, error: recorded.error, status: recorded.status,
            durationMS: recorded.durationMS)
    }
}

struct ToolTimedOut: Error {}
