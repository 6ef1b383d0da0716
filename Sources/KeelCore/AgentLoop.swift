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
        let started = ContinuousClock.now
        var messages = history
        var usage = Usage()
        var iterations = 0
        var toolCallCount = 0
        var firstTokenLatency: Double?
        let context = plan.context

        try await sink.emit(
            EventType.turnStarted, context: context,
            data: ["turn_id": .string(plan.turnID), "input_message_id": .string(plan.inputMessageID),
                   "input_content": .string(inputText), "agent_id": JSONValue(plan.agentID),
                   "agent_name": JSONValue(plan.agentName)])

        while true {
            try Task.checkCancellation()
            iterations += 1
            let reasoning = try await reason(plan, messages: messages, iteration: iterations)
            guard let response = reasoning.response else {
                return try await fail(
                    plan, messageID: reasoning.message.id, iterations: iterations, usage: usage, errorCode: reasoning.errorCode)
            }
            usage = usage + response.usage
            if firstTokenLatency == nil { firstTokenLatency = response.timeToFirstToken }
            messages.append(reasoning.message)

            if response.toolCalls.isEmpty {
                try await complete(
                    plan, started: started, iterations: iterations, usage: usage, finalMessage: reasoning.message,
                    toolCallCount: toolCallCount, firstTokenLatency: firstTokenLatency, cappedAt: nil)
                return .completed(
                    iterations: iterations, usage: usage, finalMessageID: reasoning.message.id, reachedIterationCap: false)
            }

            toolCallCount += response.toolCalls.count
            let capReached = iterations >= plan.maxIterations
            let results = try await act(plan, calls: response.toolCalls, skipBecauseOfCap: capReached)
            messages.append(contentsOf: results)
            if capReached {
                try await complete(
                    plan, started: started, iterations: iterations, usage: usage, finalMessage: reasoning.message,
                    toolCallCount: toolCallCount, firstTokenLatency: firstTokenLatency, cappedAt: plan.maxIterations)
                return .completed(
                    iterations: iterations, usage: usage, finalMessageID: reasoning.message.id, reachedIterationCap: true)
            }
        }
    }

    private func complete(
        _ plan: TurnPlan, started: ContinuousClock.Instant, iterations: Int, usage: Usage, finalMessage: Message,
        toolCallCount: Int, firstTokenLatency: Double?, cappedAt: Int?
    ) async throws {
        var data: [String: JSONValue] = [
            "turn_id": .string(plan.turnID),
            "iterations": .init(iterations),
            "duration_ms": .init(milliseconds(since: started)),
            "usage": usage.json,
            "final_message_id": .string(finalMessage.id),
            "final_answer_preview": .string(String(finalMessage.text.prefix(200))),
            "tool_call_count": .init(toolCallCount),
            "llm_call_count": .init(iterations),
            "status": cappedAt == nil ? "completed" : "max_iterations",
        ]
        if let firstTokenLatency { data["time_to_first_token_ms"] = .init(Int(firstTokenLatency * 1000)) }
        if let cappedAt { data["max_iterations"] = .init(cappedAt) }
        try await sink.emit(EventType.turnCompleted, context: plan.context, data: .object(data))
    }

    /// Finishes the message announced by `output.message.started` with the user-facing apology.
    private func fail(_ plan: TurnPlan, messageID: String, iterations: Int, usage: Usage, errorCode: String) async throws
        -> TurnOutcome
    {
        let apology = Message(id: messageID, role: .agent, content: [.text(UserFacingText.llmFailure)])
        try await sink.emit(
            EventType.outputMessageCompleted, context: plan.context,
            data: ["message": .encoding(apology), "metadata": ["model": .string(plan.model)],
                   "usage": Usage().json, "error_code": .string(errorCode)])
        try await sink.emit(
            EventType.turnFailed, context: plan.context,
            data: ["turn_id": .string(plan.turnID), "error": .string(UserFacingText.turnFailure),
                   "error_code": .string(errorCode), "iterations": .init(iterations)])
        return .failed(iterations: iterations, usage: usage, errorCode: errorCode)
    }
}

func milliseconds(since start: ContinuousClock.Instant) -> Int {
    let elapsed = ContinuousClock.now - start
    return Int(elapsed.components.seconds * 1000 + elapsed.components.attoseconds / 1_000_000_000_000_000)
}
