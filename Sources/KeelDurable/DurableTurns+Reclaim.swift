import Foundation
import KeelCore
import KeelStorage
import PostgresNIO

extension DurableTurns {
    /// The text of the `turn.failed` that ends a turn which keeps losing its executor.
    static func noProgressMessage(_ reclaims: Int) -> String {
        "The turn was stopped: its step was interrupted \(reclaims) times in a row without making progress."
    }

    func reclaimLoop() async {
        while !Task.isCancelled {
            do {
                try await reclaimStaleSteps()
            } catch where !Task.isCancelled {
                logger.warning("stale-step reclamation failed", metadata: ["error": "\(PostgresStore.describe(error))"])
            } catch {}
            try? await Task.sleep(for: durable.reclaimInterval)
        }
    }

    /// Returns steps whose heartbeat is older than the threshold to the queue. A turn whose step
    /// has been reclaimed `noProgressSealThreshold` times in a row without progress (or whose step
    /// has used all its attempts) is ended instead. Returns the number of steps reclaimed or sealed.
    @discardableResult
    public func reclaimStaleSteps() async throws -> Int {
        let threshold = durable.staleThreshold.seconds
        try await store.waitForSchema()
        // Candidates first, without locks; each is then handled in its own transaction that takes
        // the session's lock before the task's (the order every other transaction uses).
        var candidates: [(taskID: String, sessionID: String)] = []
        let rows = try await store.client.query(
            """
            SELECT id, session_id FROM durable_tasks
            WHERE status = 'claimed' AND heartbeat_at < now() - (\(threshold) * interval '1 second')
            ORDER BY heartbeat_at LIMIT 100
            """, logger: logger)
        for try await candidate in rows.decode((String, String).self) { candidates.append(candidate) }
        var handled = 0
        for candidate in candidates where try await reclaim(candidate.taskID, sessionID: candidate.sessionID) {
            handled += 1
        }
        return handled
    }

    private func reclaim(_ taskID: String, sessionID: String) async throws -> Bool {
        let threshold = durable.staleThreshold.seconds
        let (reclaimed, events) = try await transaction { connection -> (Bool, [Event]) in
            guard try await lockSession(sessionID, on: connection, required: false) else { return (false, []) }
            let rows = try await connection.query(
                """
                SELECT t.claimed_by, t.turn_id, d.input_message_id, t.kind, t.attempt, t.max_attempts, t.progress::text
                FROM durable_tasks t JOIN durable_turns d ON d.id = t.turn_id
                WHERE t.id = \(taskID) AND t.status = 'claimed'
                  AND t.heartbeat_at < now() - (\(threshold) * interval '1 second')
                FOR UPDATE OF t SKIP LOCKED
                """, logger: logger
            ).collect()
            guard let row = rows.first else { return (false, []) }
            let (worker, turnID, inputMessageID, kind, attempt, maxAttempts, progress) =
                try row.decode((String?, String, String, String, Int, Int, String).self)
            let task = LeasedTask(
                turnID: turnID, sessionID: sessionID, inputMessageID: inputMessageID, kind: kind, attempt: attempt,
                maxAttempts: maxAttempts, progress: try PostgresStore.decode(TurnProgress.self, progress))
            let reclaims = try await connection.query(
                """
                UPDATE durable_turns SET reclaims_without_progress = reclaims_without_progress + 1
                WHERE id = \(turnID) RETURNING reclaims_without_progress
                """, logger: logger
            ).collect().first?.decode(Int.self) ?? 1
            let lastError = "heartbeat lost: reclaimed from \(worker ?? "an unknown worker")"
            if reclaims >= durable.noProgressSealThreshold || attempt >= maxAttempts {
                let events = try await deadLetter(
                    taskID, task, reason: "no_progress", error: lastError, errorCode: "no_progress",
                    message: Self.noProgressMessage(reclaims), on: connection)
                return (true, events)
            }
            logger.warning(
                "reclaiming a stale step",
                metadata: ["task_id": "\(taskID)", "turn_id": "\(turnID)", "worker_id": "\(worker ?? "-")",
                           "attempt": "\(attempt)"])
            try await connection.query(
                """
                UPDATE durable_tasks SET status = 'pending', claimed_by = NULL, visible_at = now(),
                    last_error = \(lastError)
                WHERE id = \(taskID)
                """, logger: logger)
            try await notifySteps(on: connection)
            return (true, [])
        }
        published(events)
        return reclaimed
    }
}
