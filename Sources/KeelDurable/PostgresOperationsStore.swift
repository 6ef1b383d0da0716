import Foundation
import KeelCore
import KeelEngine
import KeelStorage
import Logging
import PostgresNIO

/// The operations API's reads and writes on PostgreSQL: `durable_workers`, the queue tables read
/// by status (only the live statuses are counted, so summaries stay cheap however long the
/// history), `durable_dead_letters` and the `durable_ops_events` log.
public final class PostgresOperationsStore: OperationsStore {
    let store: PostgresStore
    let logger: Logger

    /// Workers that stopped or went silent stay listed (with `?status=all`) this long.
    static let goneWorkerRetention = "1 day"
    /// Longest text kept from a worker's report field.
    static let maxReportField = 256

    public init(store: PostgresStore, logger: Logger) {
        self.store = store
        self.logger = logger
    }

    // MARK: Workers

    public func recordWorker(_ report: WorkerReport) async throws -> WorkerDirective {
        try await store.waitForSchema()
        let id = String(report.workerID.prefix(Self.maxReportField))
        let address = String(report.address.prefix(Self.maxReportField))
        let version = String(report.version.prefix(Self.maxReportField))
        let grade = String(report.grade.prefix(Self.maxReportField))
        let concurrency = max(0, min(report.concurrency, 1_000_000))
        let load = max(0, min(report.load, 1_000_000))
        let reported = report.state == .stopped ? "stopped" : "active"
        let rows = try await store.client.query(
            """
            INSERT INTO durable_workers (id, address, version, grade, concurrency, load, status)
            VALUES (\(id), \(address), \(version), \(grade), \(concurrency), \(load), \(reported))
            ON CONFLICT (id) DO UPDATE SET address = excluded.address, version = excluded.version,
                grade = excluded.grade, concurrency = excluded.concurrency, load = excluded.load,
                started_at = CASE WHEN durable_workers.status = 'stopped' THEN now() ELSE durable_workers.started_at END,
                status = CASE WHEN excluded.status = 'stopped' THEN 'stopped'
                    WHEN durable_workers.status = 'draining' THEN 'draining' ELSE 'active' END,
                last_heartbeat_at = now()
            RETURNING status
            """, logger: logger
        ).collect()
        let status = try rows.first?.decode(String.self) ?? "active"
        return WorkerDirective(drain: status == "draining")
    }

    public func workers(includeGone: Bool, staleAfter: Duration) async throws -> [WorkerRecord] {
        try await store.waitForSchema()
        let workers = try await Self.decodeWorkers(
            store.client.query(
                """
                SELECT \(unescaped: Self.workerColumns), \(unescaped: Self.silent(staleAfter)) FROM durable_workers
                WHERE last_heartbeat_at > now() - interval '\(unescaped: Self.goneWorkerRetention)'
                ORDER BY started_at, id
                """, logger: logger))
        return includeGone ? workers : workers.filter { $0.status == .active || $0.status == .draining }
    }

    public func worker(id: String, staleAfter: Duration) async throws -> WorkerRecord? {
        try await store.waitForSchema()
        return try await Self.decodeWorkers(
            store.client.query(
                """
                SELECT \(unescaped: Self.workerColumns), \(unescaped: Self.silent(staleAfter)) FROM durable_workers
                WHERE id = \(id) AND last_heartbeat_at > now() - interval '\(unescaped: Self.goneWorkerRetention)'
                """, logger: logger)
        ).first
    }

    static let workerColumns = "id, address, version, grade, concurrency, load, status, started_at, last_heartbeat_at"

    /// Whether the worker's last report is older than `staleAfter` (a number, not a parameter:
    /// it is the server's own setting).
    static func silent(_ staleAfter: Duration) -> String {
        "last_heartbeat_at < now() - (\(staleAfter.inSeconds) * interval '1 second')"
    }

    private static func decodeWorkers(_ rows: PostgresRowSequence) async throws -> [WorkerRecord] {
        var workers: [WorkerRecord] = []
        for try await (id, address, version, grade, concurrency, load, status, startedAt, heartbeat, silent) in rows.decode(
            (String, String, String, String, Int, Int, String, Date, Date, Bool).self)
        {
            workers.append(
                WorkerRecord(
                    id: id, address: address, version: version, grade: grade, concurrency: concurrency, load: load,
                    status: Self.status(stored: status, silent: silent), startedAt: startedAt, lastHeartbeatAt: heartbeat))
        }
        return workers
    }

    /// A worker that stopped reporting without saying goodbye is lost, whatever it last said.
    static func status(stored: String, silent: Bool) -> WorkerRecord.Status {
        if stored == "stopped" { return .stopped }
        if silent { return .lost }
        return stored == "draining" ? .draining : .active
    }

    public func setDraining(workerID: String, _ draining: Bool, staleAfter: Duration) async throws -> WorkerRecord? {
        try await store.waitForSchema()
        let target = draining ? "draining" : "active"
        let rows = try await store.client.query(
            """
            UPDATE durable_workers SET status = \(target) WHERE id = \(workerID) AND status <> 'stopped'
            RETURNING id
            """, logger: logger
        ).collect()
        guard !rows.isEmpty else { return nil }
        return try await worker(id: workerID, staleAfter: staleAfter)
    }

    // MARK: Queue

    public func queueSummary(_ scope: OperationsScope, staleAfter: Duration) async throws -> QueueSummary {
        try await store.waitForSchema()
        let organizationID = scope.organizationID
        var tasks = ["pending": 0, "claimed": 0, "dead": 0]
        var oldestPending = 0.0
        var stalestHeartbeat = 0.0
        let taskRows = try await store.client.query(
            """
            SELECT t.status, count(*)::bigint,
                coalesce(extract(epoch FROM now() - min(t.visible_at) FILTER (WHERE t.visible_at <= now())), 0)::float8,
                coalesce(extract(epoch FROM now() - min(t.heartbeat_at)), 0)::float8
            FROM durable_tasks t JOIN sessions s ON s.id = t.session_id
            WHERE t.status IN ('pending', 'claimed', 'dead')
                AND (\(organizationID)::text IS NULL OR s.organization_id = \(organizationID))
            GROUP BY t.status
            """, logger: logger)
        for try await (status, count, visibleAge, heartbeatAge) in taskRows.decode((String, Int, Double, Double).self) {
            tasks[status] = count
            if status == "pending" { oldestPending = max(0, visibleAge) }
            if status == "claimed" { stalestHeartbeat = max(0, heartbeatAge) }
        }
        var turns = ["queued": 0, "running": 0, "waiting": 0]
        let turnRows = try await store.client.query(
            """
            SELECT t.status, count(*)::bigint, count(*) FILTER (WHERE t.wait IS NOT NULL)::bigint
            FROM durable_turns t JOIN sessions s ON s.id = t.session_id
            WHERE t.status IN ('queued', 'running')
                AND (\(organizationID)::text IS NULL OR s.organization_id = \(organizationID))
            GROUP BY t.status
            """, logger: logger)
        for try await (status, count, waiting) in turnRows.decode((String, Int, Int).self) {
            turns[status] = count
            if status == "running" { turns["waiting"] = waiting }
        }
        let letters = try await store.client.query(
            """
            SELECT count(*)::bigint FROM durable_dead_letters l JOIN sessions s ON s.id = l.session_id
            WHERE l.requeued_at IS NULL AND (\(organizationID)::text IS NULL OR s.organization_id = \(organizationID))
            """, logger: logger
        ).collect()
        let deadLetters = try letters.first?.decode(Int.self) ?? 0

        var breakers: [String: Int] = [:]
        for state in CircuitBreakerState.State.allCases { breakers[state.rawValue] = 0 }
        let breakerRows = try await store.client.query(
            """
            SELECT state->>'state', count(*)::bigint FROM durable_circuit_breakers
            WHERE \(organizationID)::text IS NULL OR state->>'organizationID' = \(organizationID)
            GROUP BY 1
            """, logger: logger)
        for try await (state, count) in breakerRows.decode((String?, Int).self) {
            breakers[state ?? "closed", default: 0] += count
        }
        var summary = QueueSummary(
            tasks: tasks, turns: turns, oldestPendingAgeSeconds: oldestPending,
            oldestClaimedHeartbeatAgeSeconds: stalestHeartbeat, deadLetters: deadLetters, circuitBreakers: breakers)
        if scope == .platform {
            var workers: [String: Int] = [:]
            for status in WorkerRecord.Status.allCases { workers[status.rawValue] = 0 }
            for worker in try await self.workers(includeGone: true, staleAfter: staleAfter) {
                workers[worker.status.rawValue, default: 0] += 1
            }
            summary.workers = workers
        }
        return summary
    }

    static let turnColumns = """
        t.id, t.session_id, s.organization_id, t.input_message_id, t.status, t.wait->>'kind', t.wait IS NOT NULL,
        t.created_at, t.started_at, t.ended_at
        """

    public func turns(_ scope: OperationsScope, status: String?, limit: Int) async throws -> [DurableTurnRecord] {
        try await store.waitForSchema()
        let organizationID = scope.organizationID
        let rows = try await store.client.query(
            """
            SELECT \(unescaped: Self.turnColumns)
            FROM durable_turns t JOIN sessions s ON s.id = t.session_id
            WHERE (\(organizationID)::text IS NULL OR s.organization_id = \(organizationID))
                AND (\(status)::text IS NULL OR t.status = \(status))
            ORDER BY t.id DESC LIMIT \(limit)
            """, logger: logger)
        return try await Self.decodeTurns(rows)
    }

    public func turn(id: String, _ scope: OperationsScope) async throws -> DurableTurnRecord? {
        try await store.waitForSchema()
        let organizationID = scope.organizationID
        let rows = try await store.client.query(
            """
            SELECT \(unescaped: Self.turnColumns)
            FROM durable_turns t JOIN sessions s ON s.id = t.session_id
            WHERE t.id = \(id) AND (\(organizationID)::text IS NULL OR s.organization_id = \(organizationID))
            """, logger: logger)
        guard var turn = try await Self.decodeTurns(rows).first else { return nil }
        let steps = try await store.client.query(
            """
            SELECT \(unescaped: Self.taskColumns)
            FROM durable_tasks t JOIN sessions s ON s.id = t.session_id
            WHERE t.turn_id = \(id) ORDER BY t.created_at, t.id
            """, logger: logger)
        turn.steps = try await Self.decodeTasks(steps)
        return turn
    }

    private static func decodeTurns(_ rows: PostgresRowSequence) async throws -> [DurableTurnRecord] {
        var turns: [DurableTurnRecord] = []
        for try await (id, sessionID, organizationID, inputID, status, waitKind, waits, created, started, ended) in rows.decode(
            (String, String, String, String, String, String?, Bool, Date, Date?, Date?).self)
        {
            let waitingFor: String? =
                waits ? (waitKind == WaitRequest.Kind.approval.rawValue ? "approval" : "client_input") : nil
            turns.append(
                DurableTurnRecord(
                    id: id, sessionID: sessionID, organizationID: organizationID, inputMessageID: inputID,
                    status: status, waitingFor: waitingFor, createdAt: created, startedAt: started, endedAt: ended))
        }
        return turns
    }

    static let taskColumns = """
        t.id, t.turn_id, t.session_id, s.organization_id, t.kind, t.status, t.attempt, t.max_attempts,
        nullif(split_part(t.claimed_by, '#', 1), ''), t.last_error, t.error_history::text,
        t.created_at, t.visible_at, t.claimed_at, t.heartbeat_at, t.completed_at
        """

    public func tasks(_ scope: OperationsScope, status: String?, limit: Int) async throws -> [DurableTaskRecord] {
        try await store.waitForSchema()
        let organizationID = scope.organizationID
        let rows = try await store.client.query(
            """
            SELECT \(unescaped: Self.taskColumns)
            FROM durable_tasks t JOIN sessions s ON s.id = t.session_id
            WHERE (\(organizationID)::text IS NULL OR s.organization_id = \(organizationID))
                AND (\(status)::text IS NULL OR t.status = \(status))
            ORDER BY t.id DESC LIMIT \(limit)
            """, logger: logger)
        return try await Self.decodeTasks(rows)
    }

    private static func decodeTasks(_ rows: PostgresRowSequence) async throws -> [DurableTaskRecord] {
        var tasks: [DurableTaskRecord] = []
        for try await (id, turnID, sessionID, organizationID, kind, status, attempt, maxAttempts, worker, lastError, history,
            created, visible, claimed, heartbeat, completed) in rows.decode(
                (String, String, String, String, String, String, Int, Int, String?, String?, String, Date, Date, Date?,
                 Date?, Date?).self)
        {
            tasks.append(
                DurableTaskRecord(
                    id: id, turnID: turnID, sessionID: sessionID, organizationID: organizationID, kind: kind,
                    status: status, attempt: attempt, maxAttempts: maxAttempts, workerID: worker, lastError: lastError,
                    errorHistory: (try? PostgresStore.decode([StepError].self, history)) ?? [], createdAt: created,
                    visibleAt: visible, claimedAt: claimed, heartbeatAt: heartbeat, completedAt: completed))
        }
        return tasks
    }

    // MARK: Dead letters

    public func deadLetters(_ scope: OperationsScope, includeRequeued: Bool, limit: Int) async throws
        -> [DeadLetterRecord]
    {
        try await store.waitForSchema()
        let organizationID = scope.organizationID
        let rows = try await store.client.query(
            """
            SELECT \(unescaped: Self.deadLetterColumns)
            FROM durable_dead_letters l JOIN sessions s ON s.id = l.session_id
            WHERE (\(organizationID)::text IS NULL OR s.organization_id = \(organizationID))
                AND (\(includeRequeued) OR l.requeued_at IS NULL)
            ORDER BY l.dead_at DESC, l.task_id LIMIT \(limit)
            """, logger: logger)
        return try await Self.decodeDeadLetters(rows)
    }

    public func deadLetter(taskID: String, _ scope: OperationsScope) async throws -> DeadLetterRecord? {
        try await store.waitForSchema()
        let organizationID = scope.organizationID
        let rows = try await store.client.query(
            """
            SELECT \(unescaped: Self.deadLetterColumns)
            FROM durable_dead_letters l JOIN sessions s ON s.id = l.session_id
            WHERE l.task_id = \(taskID) AND (\(organizationID)::text IS NULL OR s.organization_id = \(organizationID))
            """, logger: logger)
        return try await Self.decodeDeadLetters(rows).first
    }

    static let deadLetterColumns = """
        l.task_id, l.turn_id, l.session_id, s.organization_id, l.kind, l.attempts, l.reason, l.last_error,
        l.error_history::text, l.dead_at, l.requeued_at, l.requeue_count
        """

    private static func decodeDeadLetters(_ rows: PostgresRowSequence) async throws -> [DeadLetterRecord] {
        var letters: [DeadLetterRecord] = []
        for try await (taskID, turnID, sessionID, organizationID, kind, attempts, reason, lastError, history, deadAt,
            requeuedAt, requeueCount) in rows.decode(
                (String, String, String, String, String, Int, String, String?, String, Date, Date?, Int).self)
        {
            letters.append(
                DeadLetterRecord(
                    taskID: taskID, turnID: turnID, sessionID: sessionID, organizationID: organizationID, kind: kind,
                    attempts: attempts, reason: reason, lastError: lastError,
                    errorHistory: (try? PostgresStore.decode([StepError].self, history)) ?? [], deadAt: deadAt,
                    requeuedAt: requeuedAt, requeueCount: requeueCount))
        }
        return letters
    }

    // MARK: Operations log

    public func appendEvent(type: String, organizationID: String?, data: JSONValue) async throws -> OperationsEvent {
        try await store.waitForSchema()
        let json = try PostgresStore.encode(data)
        let rows = try await store.client.query(
            """
            INSERT INTO durable_ops_events (organization_id, type, data) VALUES (\(organizationID), \(type), \(json)::jsonb)
            RETURNING id, at
            """, logger: logger
        ).collect()
        guard let (id, at) = try rows.first?.decode((Int64, Date).self) else {
            throw PostgresStoreError.corruptRow("INSERT … RETURNING returned no row")
        }
        return OperationsEvent(id: id, type: type, organizationID: organizationID, data: data, at: at)
    }

    public func events(after id: Int64, _ scope: OperationsScope, limit: Int) async throws -> [OperationsEvent] {
        try await store.waitForSchema()
        let organizationID = scope.organizationID
        let rows = try await store.client.query(
            """
            SELECT id, organization_id, type, data::text, at FROM durable_ops_events
            WHERE id > \(id) AND (\(organizationID)::text IS NULL OR organization_id = \(organizationID))
            ORDER BY id LIMIT \(limit)
            """, logger: logger)
        var events: [OperationsEvent] = []
        for try await (id, organization, type, data, at) in rows.decode((Int64, String?, String, String, Date).self) {
            events.append(
                OperationsEvent(
                    id: id, type: type, organizationID: organization, data: try PostgresStore.decode(JSONValue.self, data),
                    at: at))
        }
        return events
    }

    public func latestEventID() async throws -> Int64 {
        try await store.waitForSchema()
        let rows = try await store.client.query("SELECT coalesce(max(id), 0)::bigint FROM durable_ops_events", logger: logger)
            .collect()
        return try rows.first?.decode(Int64.self) ?? 0
    }
}
