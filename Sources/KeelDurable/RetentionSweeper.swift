import Foundation
import KeelCore
import KeelEngine
import KeelStorage
import Logging
import PostgresNIO
import ServiceLifecycle

/// Deletes what outlived `SESSION_TTL_DAYS` / `EVENT_RETENTION_DAYS` (see `RetentionPolicy`), a
/// bounded batch per short transaction with a pause between batches, so live traffic never waits
/// behind a long delete. Turns and events have UUIDv7 ids (creation time first), so their batches
/// read only the primary-key range created before the cutoff:
/// - sessions that are not running a turn and have not changed for the TTL, with everything that
///   hangs off them (events, files, turns and steps, Agent Protocol records: ON DELETE CASCADE);
/// - events older than the retention in sessions that are not running a turn (the append-only
///   trigger lets these through only under the sweep's transaction-local `keel.retention` flag);
/// - finished turns' execution records (turns, steps, tool-result checkpoints), dead letters and
///   operations-log entries older than the retention, and workers gone for that long.
public final class RetentionSweeper: Service, Sendable {
    public struct Outcome: Sendable, Hashable {
        public var sessions = 0
        public var events = 0
        public var turns = 0
        public var deadLetters = 0
        public var operationsEvents = 0

        public var total: Int { sessions + events + turns + deadLetters + operationsEvents }
    }

    let store: PostgresStore
    let policy: RetentionPolicy
    let logger: Logger
    /// The pause between two batches.
    static let pause: Duration = .milliseconds(50)

    public init(store: PostgresStore, policy: RetentionPolicy, logger: Logger) {
        self.store = store
        self.policy = policy
        self.logger = logger
    }

    public func run() async throws {
        // A service that returns ends the whole group: with nothing to sweep, wait for shutdown.
        guard policy.isEnabled else { return try await gracefulShutdown() }
        try await cancelWhenGracefulShutdown {
            try await self.store.waitForSchema()
            while !Task.isCancelled {
                do {
                    let outcome = try await self.sweep()
                    if outcome.total > 0 {
                        self.logger.notice(
                            "retention sweep deleted expired data",
                            metadata: ["sessions": "\(outcome.sessions)", "events": "\(outcome.events)",
                                       "turns": "\(outcome.turns)", "dead_letters": "\(outcome.deadLetters)",
                                       "operations_events": "\(outcome.operationsEvents)"])
                    }
                } catch {
                    // Cancelled by shutdown mid-sweep: stop, quietly (the rest is swept next time).
                    if Task.isCancelled { return }
                    self.logger.warning("retention sweep failed", metadata: ["error": "\(PostgresStore.describe(error))"])
                }
                // Shutdown cancels the sleep: that ends the loop, it is not the service failing.
                guard (try? await Task.sleep(for: self.policy.sweepInterval)) != nil else { return }
            }
        }
    }

    /// One full sweep: every batch until nothing expired is left.
    @discardableResult
    public func sweep(now: Date = Date()) async throws -> Outcome {
        var outcome = Outcome()
        if let cutoff = policy.sessionCutoff(now: now) {
            outcome.sessions = try await repeatBatches { [self] in
                try await Self.count(store.client.query(
                    """
                    DELETE FROM sessions WHERE id IN (
                        SELECT id FROM sessions
                        WHERE doc->>'status' <> 'active' AND (doc->>'updated_at')::timestamptz < \(cutoff)
                            AND NOT EXISTS (
                                SELECT 1 FROM durable_turns t WHERE t.session_id = sessions.id
                                AND t.status IN ('queued', 'running'))
                        LIMIT \(policy.batchSize))
                    RETURNING 1
                    """, logger: logger))
            }
        }
        if let cutoff = policy.eventCutoff(now: now) {
            let bound = PublicID.lowerBound(.event, at: cutoff)
            outcome.events = try await repeatBatches { [self] in
                try await store.transaction { connection in
                    try await connection.query("SET LOCAL keel.retention = 'on'", logger: logger)
                    return try await Self.count(connection.query(
                        """
                        DELETE FROM events WHERE id IN (
                            SELECT e.id FROM events e JOIN sessions s ON s.id = e.session_id
                            WHERE e.id < \(bound) AND e.created_at < \(cutoff) AND s.doc->>'status' <> 'active'
                            LIMIT \(policy.batchSize))
                        RETURNING 1
                        """, logger: logger))
                }
            }
            outcome.turns = try await repeatBatches { [self] in
                try await Self.count(store.client.query(
                    """
                    DELETE FROM durable_turns WHERE id IN (
                        SELECT id FROM durable_turns
                        WHERE id < \(PublicID.lowerBound(.turn, at: cutoff))
                            AND status IN ('completed', 'failed', 'cancelled') AND ended_at < \(cutoff)
                        LIMIT \(policy.batchSize))
                    RETURNING 1
                    """, logger: logger))
            }
            outcome.deadLetters = try await repeatBatches { [self] in
                try await Self.count(store.client.query(
                    """
                    DELETE FROM durable_dead_letters WHERE task_id IN (
                        SELECT task_id FROM durable_dead_letters WHERE dead_at < \(cutoff) LIMIT \(policy.batchSize))
                    RETURNING 1
                    """, logger: logger))
            }
            outcome.operationsEvents = try await repeatBatches { [self] in
                try await Self.count(store.client.query(
                    """
                    DELETE FROM durable_ops_events WHERE id IN (
                        SELECT id FROM durable_ops_events WHERE at < \(cutoff) ORDER BY id LIMIT \(policy.batchSize))
                    RETURNING 1
                    """, logger: logger))
            }
            try await store.client.query(
                "DELETE FROM durable_workers WHERE last_heartbeat_at < \(cutoff)", logger: logger)
        }
        return outcome
    }

    private static func count(_ rows: PostgresRowSequence) async throws -> Int {
        var count = 0
        for try await _ in rows { count += 1 }
        return count
    }

    /// Runs `batch` until it deletes fewer rows than a batch holds; returns the rows deleted.
    private func repeatBatches(_ batch: () async throws -> Int) async throws -> Int {
        var deleted = 0
        while !Task.isCancelled {
            let affected = try await batch()
            deleted += affected
            if affected < policy.batchSize { break }
            try await Task.sleep(for: Self.pause)
        }
        return deleted
    }
}
