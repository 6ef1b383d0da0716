import Foundation
import KeelEngine
import KeelObservability
import Logging
import ServiceLifecycle

/// Samples the durable engine for Prometheus every `interval`: the queue, turns, dead letters and
/// workers from the store (what every instance shares; outside DEV_MODE), the breakers, and this
/// process's claim, reclaim, dead-letter and refusal totals.
struct DurableMetricsSampler: Service {
    let engine: TurnControl
    let metrics: KeelMetrics
    let interval: Duration
    let logger: Logger

    func run() async throws {
        try await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                do {
                    metrics.recordDurable(try await sample())
                } catch {
                    if Task.isCancelled { return }
                    logger.debug("cannot sample the durable engine", metadata: ["error": "\(error)"])
                }
                // Shutdown cancels the sleep: that ends the loop, it is not the service failing.
                guard (try? await Task.sleep(for: interval)) != nil else { return }
            }
        }
    }

    func sample() async throws -> DurableMetricsSample {
        let summary = try await engine.operations?.queueSummary(.platform, staleAfter: engine.policy.staleThreshold)
        var breakers: [String: Int] = [:]
        for state in try await engine.breakers?.store.breakers() ?? [] {
            breakers[state.key] = switch state.state {
            case .closed: 0
            case .halfOpen: 1
            case .open: 2
            }
        }
        let counters = engine.counters.snapshot
        return DurableMetricsSample(
            queueDepth: summary?.tasks,
            oldestAge: summary.map {
                ["pending": $0.oldestPendingAgeSeconds, "claimed": $0.oldestClaimedHeartbeatAgeSeconds]
            },
            turns: summary?.turns, deadLetters: summary?.deadLetters, workers: summary?.workers, breakers: breakers,
            claims: counters.claims, reclaims: counters.reclaims, deadLettered: counters.deadLetters,
            breakerRefusals: engine.breakers?.refusalCounts ?? [:])
    }
}
