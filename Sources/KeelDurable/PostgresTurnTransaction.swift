import Foundation
import KeelCore
import KeelEngine
import KeelStorage
import Logging
import PostgresNIO
import Synchronization

/// One PostgreSQL turn-store transaction: every statement on the transaction's connection. It
/// collects the events it appends so the store can publish them after COMMIT.
final class PostgresTurnTransaction: TurnTransaction {
    let store: PostgresStore
    let connection: PostgresConnection
    let logger: Logger
    private let events = Mutex<[Event]>([])
    /// Sessions this transaction locked, with the document read under the lock (until updated).
    private let lockedSessions = Mutex<[String: LockedSession]>([:])

    private struct LockedSession {
        var organizationID: String
        var document: String
    }

    init(store: PostgresStore, connection: PostgresConnection, logger: Logger) {
        self.store = store
        self.connection = connection
        self.logger = logger
    }

    var appended: [Event] { events.withLock { $0 } }

    // MARK: Sessions and events

    /// Takes the session's row lock. `NO KEY UPDATE` leaves the key-share locks of concurrent
    /// event appends (foreign keys) free. The document read with the lock is kept: it cannot
    /// change before the transaction ends, so `updateSession` writes without reading it again.
    func lockSession(_ sessionID: String, organizationID: String) async throws -> Bool {
        guard
            let document = try await store.lockedSessionDocument(
                id: sessionID, organizationID: organizationID, on: connection)
        else { return false }
        lockedSessions.withLock { $0[sessionID] = LockedSession(organizationID: organizationID, document: document) }
        return true
    }

    func append(_ drafts: [EventDraft], sessionID: String, organizationID: String) async throws -> [Event] {
        let appended = try await store.appendEvents(
            sessionID: sessionID, organizationID: organizationID, drafts, on: connection)
        events.withLock { $0 += appended }
        return appended
    }

    func updateSession(id: String, organizationID: String, _ change: @Sendable (inout Session) throws -> Void)
        async throws -> Session
    {
        let locked = lockedSessions.withLock { $0.removeValue(forKey: id) }
        guard let locked, locked.organizationID == organizationID else {
            return try await store.updateSession(id: id, organizationID: organizationID, on: connection, change)
        }
        // Forgotten first: if the write fails, the transaction rolls back anyway.
        return try await store.updateSession(
            document: locked.document, id: id, organizationID: organizationID, on: connection, change)
    }

    func agent(id: String, organizationID: String) async throws -> Agent? {
        try await store.agent(id: id, organizationID: organizationID, on: connection)
    }

    func providers(organizationID: String) async throws -> [LLMProvider] {
        try await store.listProviders(organizationID: organizationID, on: connection)
    }

    func notify(_ notification: StepNotification) async throws {
        switch notification {
        case .stepsAvailable:
            try await connection.query("SELECT pg_notify(\(PostgresTurnStore.stepsChannel), '')", logger: logger)
        case .turnCancelled(let turnID):
            try await connection.query("SELECT pg_notify(\(PostgresTurnStore.cancelChannel), \(turnID))", logger: logger)
        }
    }

    // MARK: Turns

    func queuedTurnCount(sessionID: String) async throws -> Int {
        let rows = try await connection.query(
            "SELECT count(*) FROM durable_turns WHERE session_id = \(sessionID) AND status = 'queued'", logger: logger)
        for try await count in rows.decode(Int.self) { return count }
        return 0
    }

    func hasRunningTurn(sessionID: String) async throws -> Bool {
        let rows = try await connection.query(
            "SELECT 1 FROM durable_turns WHERE session_id = \(sessionID) AND status = 'running' LIMIT 1", logger: logger
        ).collect()
        return !rows.isEmpty
    }

    func insertQueuedTurn(_ turnID: String, sessionID: String, input: Message, inputSequence: Int) async throws {
        let inputJSON = try PostgresStore.encode(input)
        try await connection.query(
            """
            INSERT INTO durable_turns (id, session_id, input_message_id, input_sequence, input, status)
            VALUES (\(turnID), \(sessionID), \(input.id), \(inputSequence), \(inputJSON)::jsonb, 'queued')
            """, logger: logger)
    }

    func markRunning(_ turnID: String, spec: TurnSpec, progress: TurnProgress) async throws {
        let specJSON = try PostgresStore.encode(spec)
        let progressJSON = try PostgresStore.encode(progress)
        try await connection.query(
            """
            UPDATE durable_turns SET status = 'running', started_at = now(), spec = \(specJSON)::jsonb,
                progress = \(progressJSON)::jsonb
            WHERE id = \(turnID)
            """, logger: logger)
    }

    func nextQueuedTurn(sessionID: String) async throws -> (turnID: String, input: Message)? {
        let rows = try await connection.query(
            """
            SELECT id, input::text FROM durable_turns
            WHERE session_id = \(sessionID) AND status = 'queued'
            ORDER BY input_sequence LIMIT 1
            """, logger: logger
        ).collect()
        guard let row = rows.first else { return nil }
        let (turnID, inputJSON) = try row.decode((String, String).self)
        return (turnID, try PostgresStore.decode(Message.self, inputJSON))
    }

    func runningTurn(sessionID: String) async throws -> RunningTurn? {
        // NO KEY UPDATE, like the session lock: a plain FOR UPDATE also blocks the key-share lock
        // a concurrent tool-result insert takes through its foreign key, and that insert then
        // waits for the session lock this transaction holds — a deadlock that failed messages.
        let rows = try await connection.query(
            """
            SELECT id, input_message_id, spec::text, progress::text FROM durable_turns
            WHERE session_id = \(sessionID) AND status = 'running' FOR NO KEY UPDATE
            """, logger: logger
        ).collect()
        guard let row = rows.first else { return nil }
        let (turnID, inputMessageID, specJSON, progressJSON) = try row.decode((String, String, String?, String?).self)
        let progress = try progressJSON.map { try PostgresStore.decode(TurnProgress.self, $0) } ?? TurnProgress()
        let model = try specJSON.map { try PostgresStore.decode(TurnSpec.self, $0).model } ?? ""
        return RunningTurn(turnID: turnID, inputMessageID: inputMessageID, model: model, progress: progress)
    }

    func cancelQueuedTurns(sessionID: String) async throws {
        try await connection.query(
            """
            UPDATE durable_turns SET status = 'cancelled', ended_at = now()
            WHERE session_id = \(sessionID) AND status = 'queued'
            """, logger: logger)
    }

    func endTurn(_ turnID: String, status: TurnStatus, progress: TurnProgress) async throws {
        let progressJSON = try PostgresStore.encode(progress)
        try await connection.query(
            """
            UPDATE durable_turns SET status = \(status.rawValue), ended_at = now(), progress = \(progressJSON)::jsonb
            WHERE id = \(turnID)
            """, logger: logger)
    }

    func saveProgress(turnID: String, _ progress: TurnProgress) async throws {
        let progressJSON = try PostgresStore.encode(progress)
        try await connection.query(
            """
            UPDATE durable_turns SET progress = \(progressJSON)::jsonb, reclaims_without_progress = 0
            WHERE id = \(turnID)
            """, logger: logger)
    }

    func resetNoProgress(turnID: String) async throws {
        try await connection.query(
            "UPDATE durable_turns SET reclaims_without_progress = 0 WHERE id = \(turnID)", logger: logger)
    }

    func countReclaim(turnID: String) async throws -> Int {
        try await connection.query(
            """
            UPDATE durable_turns SET reclaims_without_progress = reclaims_without_progress + 1
            WHERE id = \(turnID) RETURNING reclaims_without_progress
            """, logger: logger
        ).collect().first?.decode(Int.self) ?? 1
    }

    // MARK: Steps

    func enqueue(_ step: TurnStep, turnID: String, sessionID: String, progress: TurnProgress, maxAttempts: Int)
        async throws
    {
        let stepJSON = try PostgresStore.encode(step)
        let progressJSON = try PostgresStore.encode(progress)
        try await connection.query(
            """
            INSERT INTO durable_tasks (id, turn_id, session_id, kind, step, progress, status, max_attempts)
            VALUES (\(PublicID.make(.task)), \(turnID), \(sessionID), \(step.kind), \(stepJSON)::jsonb,
                    \(progressJSON)::jsonb, 'pending', \(maxAttempts))
            """, logger: logger)
    }

    func cancelTasks(turnID: String) async throws {
        try await connection.query(
            """
            UPDATE durable_tasks SET status = 'cancelled', completed_at = now()
            WHERE turn_id = \(turnID) AND status IN ('pending', 'claimed')
            """, logger: logger)
    }

    /// Checks that `lease` still holds its task and locks the row: shared for appends (several
    /// may run at once), exclusive to end the task. A cancel or reclaim takes the row exclusively,
    /// so nothing a lease-holder writes can land after the task was taken away. The exclusive form
    /// first takes the session's lock, because ending a task may end the turn.
    /// The task's session (whose organization its writes are made in) comes from the session's row.
    func leasedTask(_ lease: StepLease, exclusive: Bool) async throws -> LeasedTask? {
        if exclusive {
            let owner = try await connection.query(
                """
                SELECT s.id, s.organization_id FROM durable_tasks t JOIN sessions s ON s.id = t.session_id
                WHERE t.id = \(lease.taskID)
                """, logger: logger
            ).collect()
            guard let (sessionID, organizationID) = try owner.first?.decode((String, String).self),
                try await lockSession(sessionID, organizationID: organizationID)
            else { return nil }
        }
        let lockMode = exclusive ? "FOR UPDATE OF t" : "FOR SHARE OF t"
        let lock: PostgresQuery = """
            SELECT t.turn_id, t.session_id, s.organization_id, d.input_message_id, t.kind, t.attempt, t.max_attempts,
                t.progress::text
            FROM durable_tasks t JOIN durable_turns d ON d.id = t.turn_id JOIN sessions s ON s.id = t.session_id
            WHERE t.id = \(lease.taskID) AND t.claimed_by = \(lease.workerID) AND t.status = 'claimed'
            \(unescaped: lockMode)
            """
        let rows = try await connection.query(lock, logger: logger).collect()
        guard let row = rows.first else { return nil }
        let (turnID, sessionID, organizationID, inputMessageID, kind, attempt, maxAttempts, progress) = try row.decode(
            (String, String, String, String, String, Int, Int, String).self)
        return LeasedTask(
            turnID: turnID, sessionID: sessionID, organizationID: organizationID, inputMessageID: inputMessageID,
            kind: kind, attempt: attempt, maxAttempts: maxAttempts,
            progress: try PostgresStore.decode(TurnProgress.self, progress))
    }

    func staleTask(_ taskID: String, threshold: Duration) async throws -> (task: LeasedTask, holder: String?)? {
        let rows = try await connection.query(
            """
            SELECT t.claimed_by, t.turn_id, t.session_id, s.organization_id, d.input_message_id, t.kind, t.attempt,
                t.max_attempts, t.progress::text
            FROM durable_tasks t JOIN durable_turns d ON d.id = t.turn_id JOIN sessions s ON s.id = t.session_id
            WHERE t.id = \(taskID) AND t.status = 'claimed'
              AND t.heartbeat_at < now() - (\(threshold.inSeconds) * interval '1 second')
            FOR UPDATE OF t SKIP LOCKED
            """, logger: logger
        ).collect()
        guard let row = rows.first else { return nil }
        let (holder, turnID, sessionID, organizationID, inputMessageID, kind, attempt, maxAttempts, progress) =
            try row.decode((String?, String, String, String, String, String, Int, Int, String).self)
        let task = LeasedTask(
            turnID: turnID, sessionID: sessionID, organizationID: organizationID, inputMessageID: inputMessageID,
            kind: kind, attempt: attempt, maxAttempts: maxAttempts,
            progress: try PostgresStore.decode(TurnProgress.self, progress))
        return (task, holder)
    }

    func completeTask(_ taskID: String) async throws {
        try await connection.query(
            "UPDATE durable_tasks SET status = 'completed', completed_at = now() WHERE id = \(taskID)", logger: logger)
    }

    func retryTask(_ taskID: String, error: String, after delay: Duration) async throws {
        try await connection.query(
            """
            UPDATE durable_tasks SET status = 'pending', claimed_by = NULL, last_error = \(error),
                visible_at = now() + (\(delay.inSeconds) * interval '1 second')
            WHERE id = \(taskID)
            """, logger: logger)
        try await appendErrorHistory(taskID)
    }

    func releaseTask(_ taskID: String) async throws {
        try await connection.query(
            """
            UPDATE durable_tasks SET status = 'pending', claimed_by = NULL, attempt = attempt - 1, visible_at = now()
            WHERE id = \(taskID)
            """, logger: logger)
    }

    func requeueStaleTask(_ taskID: String, error: String) async throws {
        try await connection.query(
            """
            UPDATE durable_tasks SET status = 'pending', claimed_by = NULL, visible_at = now(), last_error = \(error)
            WHERE id = \(taskID)
            """, logger: logger)
        try await appendErrorHistory(taskID)
    }

    /// A task's error history keeps its last `errorHistoryLimit` failed attempts.
    static let errorHistoryLimit = 20
    /// Adds the task's `last_error`, just set by the caller's statement, to its history.
    private func appendErrorHistory(_ taskID: String) async throws {
        try await connection.query(
            """
            UPDATE durable_tasks SET error_history = (
                SELECT coalesce(jsonb_agg(e ORDER BY n), '[]'::jsonb) FROM (
                SELECT e, n FROM jsonb_array_elements(
                    error_history || jsonb_build_array(jsonb_build_object(
                        'attempt', attempt, 'error', last_error,
                        'at', to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')))
                ) WITH ORDINALITY AS h(e, n)
                ORDER BY n DESC LIMIT \(Self.errorHistoryLimit)
            ) kept)
            WHERE id = \(taskID)
            """, logger: logger)
    }

    /// Marks the task dead, records (or, after a requeue, renews) its dead letter with the error
    /// history, and logs `dead_letter.created` — all in the turn's transaction.
    func deadLetterTask(_ taskID: String, _ task: LeasedTask, reason: String, error: String?) async throws {
        try await connection.query(
            """
            UPDATE durable_tasks SET status = 'dead', last_error = \(error), completed_at = now()
            WHERE id = \(taskID)
            """, logger: logger)
        try await appendErrorHistory(taskID)
        try await connection.query(
            """
            INSERT INTO durable_dead_letters (task_id, turn_id, session_id, kind, attempts, reason, last_error, error_history)
            SELECT \(taskID), \(task.turnID), \(task.sessionID), \(task.kind), \(task.attempt), \(reason), \(error),
                error_history FROM durable_tasks WHERE id = \(taskID)
            ON CONFLICT (task_id) DO UPDATE SET attempts = excluded.attempts, reason = excluded.reason,
                last_error = excluded.last_error, error_history = excluded.error_history, dead_at = now(),
                requeued_at = NULL
            """, logger: logger)
        let data = try PostgresStore.encode(
            JSONValue.object([
                "task_id": .string(taskID), "turn_id": .string(task.turnID), "session_id": .string(task.sessionID),
                "kind": .string(task.kind), "reason": .string(reason), "attempts": .number(Double(task.attempt)),
            ]))
        try await connection.query(
            """
            INSERT INTO durable_ops_events (organization_id, type, data)
            VALUES (\(task.organizationID), \(OperationsEvent.Kind.deadLettered), \(data)::jsonb)
            """, logger: logger)
    }

    func deadTask(_ taskID: String) async throws -> LeasedTask? {
        let rows = try await connection.query(
            """
            SELECT t.turn_id, t.session_id, s.organization_id, d.input_message_id, t.kind, t.attempt, t.max_attempts,
                t.progress::text
            FROM durable_tasks t JOIN durable_turns d ON d.id = t.turn_id JOIN sessions s ON s.id = t.session_id
            JOIN durable_dead_letters l ON l.task_id = t.id
            WHERE t.id = \(taskID) AND t.status = 'dead' AND l.requeued_at IS NULL
            FOR UPDATE OF t, l
            """, logger: logger
        ).collect()
        guard let row = rows.first else { return nil }
        let (turnID, sessionID, organizationID, inputMessageID, kind, attempt, maxAttempts, progress) = try row.decode(
            (String, String, String, String, String, Int, Int, String).self)
        return LeasedTask(
            turnID: turnID, sessionID: sessionID, organizationID: organizationID, inputMessageID: inputMessageID,
            kind: kind, attempt: attempt, maxAttempts: maxAttempts,
            progress: try PostgresStore.decode(TurnProgress.self, progress))
    }

    func requeueDeadTask(_ taskID: String, turnID: String, progress: TurnProgress) async throws {
        let progressJSON = try PostgresStore.encode(progress)
        try await connection.query(
            """
            UPDATE durable_tasks SET status = 'pending', attempt = 0, claimed_by = NULL, visible_at = now(),
                completed_at = NULL, progress = \(progressJSON)::jsonb
            WHERE id = \(taskID)
            """, logger: logger)
        try await connection.query(
            """
            UPDATE durable_turns SET status = 'running', ended_at = NULL, progress = \(progressJSON)::jsonb,
                reclaims_without_progress = 0
            WHERE id = \(turnID)
            """, logger: logger)
        try await connection.query(
            """
            UPDATE durable_dead_letters SET requeued_at = now(), requeue_count = requeue_count + 1
            WHERE task_id = \(taskID)
            """, logger: logger)
    }

    func turnWait(turnID: String) async throws -> TurnWait? {
        let rows = try await connection.query(
            "SELECT wait::text FROM durable_turns WHERE id = \(turnID)", logger: logger
        ).collect()
        guard let text = try rows.first?.decode(String?.self) else { return nil }
        return try PostgresStore.decode(TurnWait.self, text)
    }

    func setTurnWait(turnID: String, _ wait: TurnWait?) async throws {
        let waitJSON = try wait.map { try PostgresStore.encode($0) }
        try await connection.query(
            """
            UPDATE durable_turns SET wait = \(waitJSON)::jsonb, wait_deadline = \(wait?.deadline)
            WHERE id = \(turnID)
            """, logger: logger)
    }

    func insertToolResult(turnID: String, toolCallID: String, taskID: String, data: JSONValue) async throws -> Bool {
        let dataJSON = try PostgresStore.encode(data)
        let inserted = try await connection.query(
            """
            INSERT INTO durable_tool_results (turn_id, tool_call_id, task_id, data)
            VALUES (\(turnID), \(toolCallID), \(taskID), \(dataJSON)::jsonb)
            ON CONFLICT (turn_id, tool_call_id) DO NOTHING
            RETURNING 1
            """, logger: logger
        ).collect()
        return !inserted.isEmpty
    }
}
