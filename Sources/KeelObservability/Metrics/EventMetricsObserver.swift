import Foundation
import KeelCore
import Synchronization

/// Feeds `KeelMetrics` from the event log; register it with the store's observers.
///
/// - `turn.started` remembers the turn's start time (by turn id);
///   `turn.completed` / `turn.failed` / `turn.cancelled` count the turn and observe
///   terminal `ts` − `turn.started` `ts`, then forget the turn. A terminal event whose start was
///   not seen (the server restarted mid-turn) is counted, and observes `duration_ms` when the
///   event carries it (`turn.completed` does).
/// - `llm.generation` counts the call, observes `duration_ms` and `time_to_first_token_ms`, and
///   adds its `usage` tokens (all from `metadata`).
/// - `tool.completed` counts the call by `status` and observes `duration_ms`.
///
/// Every event is read through its typed payload. One whose data does not decode is reported to
/// `decodeFailures` (consumer `metrics`) and only what depends on its data is skipped: an
/// unreadable `llm.generation` or `tool.completed` is not counted, while a turn still starts
/// and ends by its event's type and context (its ids are there), without the payload's duration.
///
/// Work per event is a few lock-protected updates, so `observe` returns at once. At most
/// `maxOpenTurns` starts are remembered; past that the oldest is forgotten (a turn whose
/// terminal event was never written must not leak).
final class EventMetricsObserver: EventObserver {
    let metrics: KeelMetrics
    let decodeFailures: EventDecodeFailureReporter
    let maxOpenTurns: Int
    private let openTurns = Mutex([String: Date]())
    /// Calls a turn waits on (client results, answers, approvals): call id → the wait.
    private let waits = Mutex([String: OpenWait]())

    struct OpenWait {
        var turnID: String?
        var kind: KeelMetrics.WaitKind
        var since: Date
    }

    /// The `consumer` label of this observer's decode failures.
    static let decodeFailureConsumer = "metrics"

    init(metrics: KeelMetrics, decodeFailures: EventDecodeFailureReporter, maxOpenTurns: Int = 10_000) {
        self.metrics = metrics
        self.decodeFailures = decodeFailures
        self.maxOpenTurns = maxOpenTurns
    }

    /// Turns started and not yet finished (for tests and diagnostics).
    var openTurnCount: Int { openTurns.withLock { $0.count } }

    func observe(_ event: Event) {
        switch event.type {
        case EventType.turnStarted:
            turnStarted(event, payload(of: event, as: TurnStartedPayload.self))
        case EventType.turnCompleted:
            let completed = payload(of: event, as: TurnCompletedPayload.self)
            finishTurn(
                event, turnID: completed?.turnID, outcome: .completed,
                reportedDuration: completed.map { .milliseconds($0.durationMS) })
        case EventType.turnFailed:
            let failed = payload(of: event, as: TurnFailedPayload.self)
            finishTurn(event, turnID: failed?.turnID, outcome: .failed, reportedDuration: nil)
        case EventType.turnCancelled:
            let cancelled = payload(of: event, as: TurnCancelledPayload.self)
            finishTurn(event, turnID: cancelled?.turnID, outcome: .cancelled, reportedDuration: nil)
            let turnID = event.context.turnID ?? cancelled?.turnID
            let abandoned = waits.withLock { waits in
                let ended = waits.filter { $0.value.turnID == turnID }
                for id in ended.keys { waits[id] = nil }
                return ended.values.map(\.kind)
            }
            for kind in abandoned { metrics.recordWait(kind, outcome: .cancelled, duration: nil) }
        case EventType.toolCallRequested:
            guard let requested = payload(of: event, as: ToolCallRequestedPayload.self) else { return }
            openWaits(requested.toolCalls.map(\.id), kind: .clientTool, event: event)
        case EventType.questionRequested:
            guard let requested = payload(of: event, as: QuestionRequestedPayload.self) else { return }
            openWaits([requested.toolCallID], kind: .question, event: event)
        case EventType.toolApprovalRequested:
            guard let requested = payload(of: event, as: ToolApprovalRequestedPayload.self) else { return }
            openWaits(requested.toolCalls.map(\.id), kind: .approval, event: event)
        case EventType.toolApprovalDecided:
            guard let decided = payload(of: event, as: ToolApprovalDecidedPayload.self),
                let wait = waits.withLock({ $0.removeValue(forKey: decided.toolCallID) })
            else { return }
            let outcome: KeelMetrics.WaitOutcome =
                decided.approved ? .approved : Self.abandonment(decided.reason) ?? .rejected
            metrics.recordWait(wait.kind, outcome: outcome, duration: Self.duration(since: wait.since, event: event))
        case EventType.llmGeneration:
            guard let generation = payload(of: event, as: LLMGenerationPayload.self) else { return }
            recordGeneration(generation)
        case EventType.toolCompleted:
            guard let completed = payload(of: event, as: ToolCompletedPayload.self) else { return }
            if let wait = waits.withLock({ $0.removeValue(forKey: completed.toolCallID) }) {
                metrics.recordWait(
                    wait.kind, outcome: Self.abandonment(completed.error) ?? .answered,
                    duration: Self.duration(since: wait.since, event: event))
            }
            metrics.recordToolCall(
                tool: completed.toolName, outcome: KeelMetrics.ToolOutcome(status: completed.status),
                duration: Self.milliseconds(completed.durationMS))
        default:
            return
        }
    }

    private func openWaits(_ callIDs: [String], kind: KeelMetrics.WaitKind, event: Event) {
        waits.withLock { waits in
            for id in callIDs { waits[id] = OpenWait(turnID: event.context.turnID, kind: kind, since: event.ts) }
            // Bounded like the open turns: a wait whose end was never seen is dropped, oldest first.
            while waits.count > maxOpenTurns, let oldest = waits.min(by: { $0.value.since < $1.value.since })?.key {
                waits[oldest] = nil
            }
        }
    }

    /// The outcome a wait's error text names when the engine, not a person, ended it.
    private static func abandonment(_ error: String?) -> KeelMetrics.WaitOutcome? {
        switch error {
        case UserFacingText.clientResultTimedOut, UserFacingText.approvalTimedOut: .timedOut
        case UserFacingText.supersededByMessage: .superseded
        default: nil
        }
    }

    private static func duration(since start: Date, event: Event) -> Duration {
        .milliseconds(max(0, event.ts.timeIntervalSince(start)) * 1000)
    }

    private func payload<Payload: EventPayload>(of event: Event, as type: Payload.Type) -> Payload? {
        event.payload(as: type, consumer: Self.decodeFailureConsumer, failures: decodeFailures)
    }

    private func turnStarted(_ event: Event, _ started: TurnStartedPayload?) {
        guard let turnID = event.context.turnID ?? started?.turnID else { return }
        openTurns.withLock { turns in
            turns[turnID] = event.ts
            if turns.count > maxOpenTurns, let oldest = turns.min(by: { $0.value < $1.value })?.key {
                turns[oldest] = nil
            }
        }
    }

    /// Counts the turn; its duration is measured from the remembered start, else the one the
    /// event reports (nil when it reports none, or its data did not decode).
    private func finishTurn(
        _ event: Event, turnID payloadTurnID: String?, outcome: KeelMetrics.TurnOutcome, reportedDuration: Duration?
    ) {
        let started = (event.context.turnID ?? payloadTurnID).flatMap { turnID in
            openTurns.withLock { $0.removeValue(forKey: turnID) }
        }
        let duration: Duration?
        if let started {
            duration = .milliseconds(max(0, event.ts.timeIntervalSince(started)) * 1000)
        } else {
            duration = reportedDuration.flatMap { $0 >= .zero ? $0 : nil }
        }
        metrics.recordTurn(outcome: outcome, duration: duration)
    }

    private func recordGeneration(_ generation: LLMGenerationPayload) {
        let metadata = generation.metadata
        metrics.recordLLMCall(
            provider: metadata.provider, model: metadata.model, success: metadata.success,
            duration: Self.milliseconds(metadata.durationMS),
            timeToFirstToken: metadata.timeToFirstTokenMS.flatMap(Self.milliseconds),
            usage: metadata.usage)
    }

    private static func milliseconds(_ value: Int) -> Duration? {
        value >= 0 ? .milliseconds(value) : nil
    }
}
