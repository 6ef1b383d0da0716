import Foundation
import Logging

/// The agentic loop: reason (one streaming model call) → act (run the requested tools) → reason …
/// until the model answers without tool calls or the iteration cap is reached.
///
/// The loop owns the order and content of a turn's events from `turn.started` to the terminal
/// `turn.completed` / `turn.failed`. Cancellation of the calling task ends it by throwing
/// `CancellationError` without a terminal event: the caller records the cancellation.
public struct AgentLoop: Sendable {
    public var driver: any LLMDriver
    public var sink: any TurnEventSink
    public var toolContext: ToolContext
    public var logger: Logger

    public init(driver: any LLMDriver, sink: any TurnEventSink, toolContext: ToolContext, logger: Logger) {
        self.driver = driver
        self.sink = sink
        self.toolContext = toolContext
        self.logger = logger
    }

    /// Runs one turn over `history`, which must already end with the turn's input message.
    public func run(_ plan: TurnPlan, history: [Message], inputText: String) async throws -> TurnOutcome {
        var progress = TurnProgress()
        try await begin(plan, inputText: inputText)
        var messages = history
        var step = TurnStep.firstReason()
        while true {
            switch try await run(step, plan: plan, history: messages, progress: progress) {
            case .next(let next, let updated, let appended):
                messages += appended
                step = next
                progress = updated
            case .finished(let outcome):
                return outcome
            case .waiting:
                // A whole turn run in one go has no one to post the client's results.
                throw ClientToolsNeedStepRunner()
            }
        }
    }

    /// Announces the turn (`turn.started`); the first step is `TurnStep.firstReason()`.
    public func begin(_ plan: TurnPlan, inputText: String) async throws {
        let started = Self.startedEvent(plan, inputText: inputText)
        try await sink.emit(started.type, context: started.context, data: started.data)
    }

    /// The `turn.started` event of a plan (durable runners record it when they schedule the turn).
    public static func startedEvent(_ plan: TurnPlan, inputText: String) -> EventDraft {
        EventDraft(
            TurnStartedPayload(
                turnID: plan.turnID, inputMessageID: plan.inputMessageID, inputContent: inputText,
                agentID: plan.agentID, agentName: plan.agentName),
            context: plan.context)
    }

    /// Runs one step over `history` (the conversation before the step). For an act step,
    /// `recordedToolResults` holds the `tool.completed` data of calls an earlier attempt already
    /// finished, by call id: those calls are not run again.
    public func run(
        _ step: TurnStep, plan: TurnPlan, history: [Message], progress: TurnProgress,
        recordedToolResults: [String: JSONValue] = [:]
    ) async throws -> StepOutcome {
        try Task.checkCancellation()
        var progress = progress
        switch step {
        case .reason(let iteration, let messageID):
            let reasoning = try await reason(plan, messages: history, iteration: iteration, messageID: messageID)
            progress.iterations = iteration
            guard let response = reasoning.response else {
                return .finished(
                    try await fail(
                        plan, messageID: reasoning.message.id, iterations: iteration, usage: progress.usage,
                        errorCode: reasoning.errorCode))
            }
            progress.usage = progress.usage + response.usage
            if progress.firstTokenLatencyMS == nil, let ttft = response.timeToFirstToken {
                progress.firstTokenLatencyMS = Int(ttft * 1000)
            }
            if response.toolCalls.isEmpty {
                try await complete(plan, progress: progress, finalMessage: reasoning.message, cappedAt: nil)
                return .finished(
                    .completed(
                        iterations: iteration, usage: progress.usage, finalMessageID: reasoning.message.id,
                        reachedIterationCap: false))
            }
            progress.toolCallCount += response.toolCalls.count
            let act = TurnStep.act(
                iteration: iteration, message: reasoning.message, capReached: iteration >= plan.maxIterations)
            return .next(act, progress, appended: [reasoning.message])

        case .act(let iteration, let message, let capReached):
            let results: [Message]
            switch try await act(
                plan, calls: message.toolCalls, skipBecauseOfCap: capReached, recorded: recordedToolResults)
            {
            case .results(let messages): results = messages
            case .waiting(let request): return .waiting(step, progress, request)
            }
            if capReached {
                try await complete(plan, progress: progress, finalMessage: message, cappedAt: plan.maxIterations)
                return .finished(
                    .completed(
                        iterations: iteration, usage: progress.usage, finalMessageID: message.id,
                        reachedIterationCap: true))
            }
            let next = TurnStep.reason(iteration: iteration + 1, messageID: PublicID.make(.message))
            return .next(next, progress, appended: results)
        }
    }

    private func complete(_ plan: TurnPlan, progress: TurnProgress, finalMessage: Message, cappedAt: Int?) async throws {
        let completed = TurnCompletedPayload(
            turnID: plan.turnID, iterations: progress.iterations, durationMS: progress.elapsedMS, usage: progress.usage,
            finalMessageID: finalMessage.id, finalAnswerPreview: String(finalMessage.text.prefix(200)),
            toolCallCount: progress.toolCallCount, llmCallCount: progress.iterations,
            status: cappedAt == nil ? "completed" : "max_iterations",
            timeToFirstTokenMS: progress.firstTokenLatencyMS, maxIterations: cappedAt)
        try await sink.emit(completed, context: plan.context)
    }

    /// Finishes the message announced by `output.message.started` with the user-facing apology.
    private func fail(_ plan: TurnPlan, messageID: String, iterations: Int, usage: Usage, errorCode: String) async throws
        -> TurnOutcome
    {
        for draft in FailedModelCall.events(
            turnID: plan.turnID, messageID: messageID, model: plan.model, iterations: iterations, errorCode: errorCode,
            context: plan.context)
        {
            try await sink.emit(draft.type, context: draft.context, data: draft.data)
        }
        return .failed(iterations: iterations, usage: usage, errorCode: errorCode)
    }
}

/// `AgentLoop.run(_:history:inputText:)` met a call that waits for the client or a person: such
/// turns run step by step under a step runner, which can wait.
public struct ClientToolsNeedStepRunner: Error {}

func milliseconds(since start: ContinuousClock.Instant) -> Int {
    (ContinuousClock.now - start).wholeMilliseconds
}

/// The events that end a turn whose model call failed, wherever it is decided: the message
/// announced by `output.message.started` completed with the user-facing apology, then
/// `turn.failed` with the error code. The loop emits them after a failed call; the engine emits
/// the same when an open circuit breaker refuses the call.
public enum FailedModelCall {
    public static func events(
        turnID: String, messageID: String, model: String, iterations: Int, errorCode: String, context: EventContext
    ) -> [EventDraft] {
        let apology = Message(id: messageID, role: .agent, content: [.text(UserFacingText.llmFailure)])
        return [
            EventDraft(
                OutputMessageCompletedPayload(message: apology, model: model, usage: Usage(), errorCode: errorCode),
                context: context),
            EventDraft(
                TurnFailedPayload(turnID: turnID, error: UserFacingText.turnFailure, errorCode: errorCode, iterations: iterations),
                context: context),
        ]
    }
}
