import Foundation

/// One step of a turn's workflow. A turn is `turn.started`, then reason → act → reason … until a
/// reason step answers without tool calls (or fails, or the iteration cap is reached). Steps are
/// the unit of durable execution: each is claimed, checkpointed and retried on its own.
public enum TurnStep: Codable, Sendable, Hashable {
    /// One model call. The message id is fixed when the step is scheduled, so a retried step
    /// streams into the same message instead of starting a second one.
    case reason(iteration: Int, messageID: String)
    /// Runs the tool calls of `message` (the reason step's output).
    case act(iteration: Int, message: Message, capReached: Bool)

    public var kind: String {
        switch self {
        case .reason: "reason"
        case .act: "act"
        }
    }

    public var iteration: Int {
        switch self {
        case .reason(let iteration, _), .act(let iteration, _, _): iteration
        }
    }

    public static func firstReason() -> TurnStep { .reason(iteration: 1, messageID: PublicID.make(.message)) }
}

/// What the steps of a turn have accumulated so far; it travels from one step to the next with
/// the step itself, so a step retried on another worker starts from the same numbers.
public struct TurnProgress: Codable, Sendable, Hashable {
    public var startedAt: Date
    public var iterations: Int
    public var usage: Usage
    public var toolCallCount: Int
    public var firstTokenLatencyMS: Int?

    public init(
        startedAt: Date = Date(), iterations: Int = 0, usage: Usage = Usage(), toolCallCount: Int = 0,
        firstTokenLatencyMS: Int? = nil
    ) {
        self.startedAt = startedAt
        self.iterations = iterations
        self.usage = usage
        self.toolCallCount = toolCallCount
        self.firstTokenLatencyMS = firstTokenLatencyMS
    }

    var elapsedMS: Int { max(0, Int(Date().timeIntervalSince(startedAt) * 1000)) }
}

/// How a step ended: the next step with the progress so far (and the messages it added to the
/// conversation), or the end of the turn.
public enum StepOutcome: Sendable {
    case next(TurnStep, TurnProgress, appended: [Message])
    /// The act step ran what it could and now waits for the client's results or a person's
    /// decisions; the step runs again (skipping what was recorded) once they are in.
    case waiting(TurnStep, TurnProgress, WaitRequest)
    case finished(TurnOutcome)
}
