import Foundation
import KeelCore
import Synchronization

/// Feeds `KeelMetrics` from the event log; register it with the store's observers.
///
/// - `turn.started` remembers the turn's start time (by turn id);
///   `turn.completed` / `turn.failed` / `turn.cancelled` count the turn and observe
///   terminal `ts` − `turn.started` `ts`, then forget the turn. A terminal event whose start was
///   not seen (the server restarted mid-turn) is counted, and observes `data.duration_ms` when
///   the event carries it.
/// - `llm.generation` counts the call, observes `duration_ms` and `time_to_first_token_ms`, and
///   adds its `usage` tokens (all from `data.metadata`).
/// - `tool.completed` counts the call by `status` and observes `duration_ms`.
///
/// Work per event is a few lock-protected updates, so `observe` returns at once. At most
/// `maxOpenTurns` starts are remembered; past that the oldest is forgotten (a turn whose
/// terminal event was never written must not leak).
final class EventMetricsObserver: EventObserver {
    let metrics: KeelMetrics
    let maxOpenTurns: Int
    private let openTurns = Mutex([String: Date]())

    init(metrics: KeelMetrics, maxOpenTurns: Int = 10_000) {
        self.metrics = metrics
        self.maxOpenTurns = maxOpenTurns
    }

    /// Turns started and not yet finished (for tests and diagnostics).
    var openTurnCount: Int { openTurns.withLock { $0.count } }

    func observe(_ event: Event) {
        switch event.type {
        case EventType.turnStarted:
            guard let turnID = Self.turnID(of: event) else { return }
            openTurns.withLock { turns in
                turns[turnID] = event.ts
                if turns.count > maxOpenTurns, let oldest = turns.min(by: { $0.value < $1.value })?.key {
                    turns[oldest] = nil
                }
            }
        case EventType.turnCompleted:
            finishTurn(event, outcome: .completed)
        case EventType.turnFailed:
            finishTurn(event, outcome: .failed)
        case EventType.turnCancelled:
            finishTurn(event, outcome: .cancelled)
        case EventType.llmGeneration:
            recordGeneration(event)
        case EventType.toolCompleted:
            let data = event.data
            metrics.recordToolCall(
                tool: data["tool_name"]?.stringValue ?? "unknown",
                outcome: KeelMetrics.ToolOutcome(status: data["status"]?.stringValue),
                duration: Self.milliseconds(data["duration_ms"]))
        default:
            return
        }
    }

    private func finishTurn(_ event: Event, outcome: KeelMetrics.TurnOutcome) {
        let started = Self.turnID(of: event).flatMap { turnID in
            openTurns.withLock { $0.removeValue(forKey: turnID) }
        }
        let duration: Duration?
        if let started {
            duration = .milliseconds(max(0, event.ts.timeIntervalSince(started)) * 1000)
        } else {
            duration = Self.milliseconds(event.data["duration_ms"])
        }
        metrics.recordTurn(outcome: outcome, duration: duration)
    }

    private func recordGeneration(_ event: Event) {
        let metadata = event.data["metadata"]
        let usage = metadata?["usage"].map { usage in
            Usage(
                inputTokens: usage["input_tokens"]?.intValue ?? 0, outputTokens: usage["output_tokens"]?.intValue ?? 0,
                cacheReadTokens: usage["cache_read_tokens"]?.intValue ?? 0,
                cacheCreationTokens: usage["cache_creation_tokens"]?.intValue ?? 0)
        }
        metrics.recordLLMCall(
            provider: metadata?["provider"]?.stringValue ?? "unknown",
            model: metadata?["model"]?.stringValue ?? "unknown",
            success: metadata?["success"]?.boolValue ?? true,
            duration: Self.milliseconds(metadata?["duration_ms"]),
            timeToFirstToken: Self.milliseconds(metadata?["time_to_first_token_ms"]),
            usage: usage)
    }

    private static func turnID(of event: Event) -> String? {
        event.context.turnID ?? event.data["turn_id"]?.stringValue
    }

    private static func milliseconds(_ value: JSONValue?) -> Duration? {
        guard let ms = value?.doubleValue, ms.isFinite, ms >= 0 else { return nil }
        return .milliseconds(ms)
    }
}
