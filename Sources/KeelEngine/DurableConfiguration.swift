import Foundation
import KeelCore

/// How the engine treats steps, in memory and on PostgreSQL alike. A turn is a workflow of steps
/// (reason → act → reason …); each step is claimed by an executor (embedded in the server or a
/// `keel worker` over gRPC), heartbeated, completed with its lease checked, retried with backoff
/// and dead-lettered after its attempts. A step's result events commit together with its
/// completion, and each tool result is checkpointed with its `tool.completed` event, so a retried
/// step redoes only what was not recorded. Stale steps (heartbeat older than the threshold) are
/// reclaimed; a turn reclaimed again and again without progress is ended with `turn.failed`
/// (`error_code: no_progress`).
public struct DurableConfiguration: Sendable {
    /// A claimed step whose last heartbeat is older than this is returned to the queue.
    public var staleThreshold: Duration
    /// How often the reclamation loop looks for stale steps.
    public var reclaimInterval: Duration
    /// Reclamations in a row without progress after which the turn is ended.
    public var noProgressSealThreshold: Int
    /// Attempts per step before it is dead-lettered and the turn fails.
    public var maxAttempts: Int
    /// Backoff before a failed attempt is retried: doubles from `retryInitialDelay` up to `retryMaxDelay`.
    public var retryInitialDelay: Duration
    public var retryMaxDelay: Duration
    /// Off in DEV_MODE (nothing is durable there) and for tests that drive reclamation by hand.
    public var reclaimEnabled: Bool

    public init(
        staleThreshold: Duration = .seconds(30), reclaimInterval: Duration = .seconds(10),
        noProgressSealThreshold: Int = 3, maxAttempts: Int = 5, retryInitialDelay: Duration = .milliseconds(500),
        retryMaxDelay: Duration = .seconds(30), reclaimEnabled: Bool = true
    ) {
        self.staleThreshold = staleThreshold
        self.reclaimInterval = reclaimInterval
        self.noProgressSealThreshold = max(1, noProgressSealThreshold)
        self.maxAttempts = max(1, maxAttempts)
        self.retryInitialDelay = retryInitialDelay
        self.retryMaxDelay = retryMaxDelay
        self.reclaimEnabled = reclaimEnabled
    }

    /// The delay before retry number `attempt` (1-based), with ±20 % jitter, never above `retryMaxDelay`.
    public func retryDelay(afterAttempt attempt: Int) -> Duration {
        Backoff(initial: retryInitialDelay, maximum: retryMaxDelay, jitter: .proportional(0.2))
            .delay(forRetry: attempt - 1)
    }
}
