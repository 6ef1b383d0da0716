import Foundation
import KeelCore
import KeelEngine
import KeelStorage
import Logging
import PostgresNIO

/// The turn store outside DEV_MODE: turns and steps in `durable_turns` / `durable_tasks` /
/// `durable_tool_results` / `durable_dead_letters`. A transaction is BEGIN … COMMIT on one pooled
/// connection; the events it appended are published after COMMIT (local SSE readers woken —
/// other instances wake through `NOTIFY keel_events` — and observers fed). Step notifications
/// travel by `NOTIFY keel_steps` / `keel_cancel`, so every instance's executors hear them.
public final class PostgresTurnStore: TurnStore {
    /// NOTIFY channels: a step became claimable (no payload); a turn was cancelled (payload: turn id).
    static let stepsChannel = "keel_steps"
    static let cancelChannel = "keel_cancel"

    let store: PostgresStore
    let observers: [any EventObserver]
    let fileSystem: @Sendable (String) -> any SessionFileSystem
    let logger: Logger

    public init(
        store: PostgresStore, observers: [any EventObserver],
        files: @escaping @Sendable (String) -> any SessionFileSystem, logger: Logger
    ) {
        self.store = store
        self.observers = observers
        self.fileSystem = files
        self.logger = logger
    }

    /// A deadlock or serialization failure (SQLSTATE 40P01, 40001) rolls the transaction back whole,
    /// so it is run again, up to `retriedConflicts` more times after a short jittered pause; any other
    /// error, or the last conflict, is the caller's.
    public func transaction<Result: Sendable>(_ body: (any TurnTransaction) async throws -> Result) async throws
        -> Result
    {
        var attempt = 0
        while true {
            do {
                let (result, events) = try await store.transaction { connection -> (Result, [Event]) in
                    let tx = PostgresTurnTransaction(store: store, connection: connection, logger: logger)
                    let result = try await body(tx)
                    return (result, tx.appended)
                }
                publish(events)
                return result
            } catch let error where attempt < Self.retriedConflicts && Self.retryableStates.contains(PostgresStore.sqlState(error) ?? "") {
                attempt += 1
                logger.warning(
                    "turn transaction conflicted; running it again",
                    metadata: ["attempt": "\(attempt)", "error": "\(PostgresStore.describe(error))"])
                try await Task.sleep(for: .milliseconds(Int.random(in: 5...25) * attempt))
            } catch let error where PostgresStore.sqlState(error) != nil {
                // The API answers a generic 500; the SQLSTATE is what explains it.
                logger.error("turn transaction failed", metadata: ["error": "\(PostgresStore.describe(error))"])
                throw error
            }
        }
    }

    static let retriedConflicts = 3
    static let retryableStates: Set<String> = ["40P01", "40001"]

    /// Wakes local readers and observers for committed events.
    func publish(_ events: [Event]) {
        for (sessionID, appended) in Dictionary(grouping: events, by: \.sessionID) {
            store.eventSignals.notifyAppended(sessionID: sessionID, events: appended)
        }
        for event in events {
            for observer in observers { observer.observe(event) }
        }
    }

    public func claim(workerID: String, limit: Int) async throws -> [ClaimedStep] {
        try await store.waitForSchema()
        let rows = try await store.client.query(
            """
            WITH picked AS (
                SELECT id FROM durable_tasks
                WHERE status = 'pending' AND visible_at <= now()
                    AND NOT EXISTS (SELECT 1 FROM durable_workers WHERE id = \(workerID) AND status = 'draining')
                ORDER BY visible_at, created_at
                LIMIT \(limit)
                FOR UPDATE SKIP LOCKED
            )
            UPDATE durable_tasks t
            SET status = 'claimed', claimed_by = \(workerID) || '#' || (t.lease_epoch + 1), claimed_at = now(),
                heartbeat_at = now(), attempt = t.attempt + 1, lease_epoch = t.lease_epoch + 1
            FROM picked WHERE t.id = picked.id
            RETURNING t.id, t.session_id, t.turn_id, t.step::text, t.progress::text, t.attempt, t.claimed_by
            """, logger: logger)
        var claimed: [ClaimedStep] = []
        // The lease names the lease epoch as well as the worker: if a worker's step is reclaimed or
        // released and the same worker claims it again, the stale execution's lease is no longer
        // valid. The epoch only grows (unlike `attempt`, which a release hands back).
        for try await (id, sessionID, turnID, step, progress, attempt, holder) in rows.decode(
            (String, String, String, String, String, Int, String).self)
        {
            claimed.append(
                ClaimedStep(
                    lease: StepLease(taskID: id, workerID: holder), sessionID: sessionID, turnID: turnID,
                    step: try PostgresStore.decode(TurnStep.self, step),
                    progress: try PostgresStore.decode(TurnProgress.self, progress), attempt: attempt))
        }
        return claimed
    }

    /// One statement that checks the lease and appends (see
    /// `PostgresStore.appendEvent(sessionID:_:leasedBy:holder:)`), no transaction round trips.
    public func appendLive(_ draft: EventDraft, sessionID: String, lease: StepLease) async throws -> Bool {
        guard
            let event = try await store.appendEvent(
                sessionID: sessionID, draft, leasedBy: lease.taskID, holder: lease.workerID)
        else { return false }
        publish([event])
        return true
    }

    public func heartbeat(_ lease: StepLease) async throws -> Bool {
        try await store.waitForSchema()
        let rows = try await store.client.query(
            """
            UPDATE durable_tasks SET heartbeat_at = now()
            WHERE id = \(lease.taskID) AND claimed_by = \(lease.workerID) AND status = 'claimed'
            RETURNING 1
            """, logger: logger
        ).collect()
        return !rows.isEmpty
    }

    public func leasedStep(_ lease: StepLease) async throws -> LeasedStep? {
        try await store.waitForSchema()
        let rows = try await store.client.query(
            """
            SELECT turn_id, session_id, step::text FROM durable_tasks
            WHERE id = \(lease.taskID) AND claimed_by = \(lease.workerID) AND status = 'claimed'
            """, logger: logger
        ).collect()
        guard let row = rows.first else { return nil }
        let (turnID, sessionID, stepJSON) = try row.decode((String, String, String).self)
        return LeasedStep(turnID: turnID, sessionID: sessionID, step: try PostgresStore.decode(TurnStep.self, stepJSON))
    }

    public func turnSpec(turnID: String) async throws -> (spec: TurnSpec, inputSequence: Int)? {
        let rows = try await store.client.query(
            "SELECT spec::text, input_sequence FROM durable_turns WHERE id = \(turnID)", logger: logger
        ).collect()
        guard let row = rows.first, case let (specJSON?, inputSequence) = try row.decode((String?, Int).self) else {
            return nil
        }
        return (try PostgresStore.decode(TurnSpec.self, specJSON), inputSequence)
    }

    public func laterInputMessageIDs(sessionID: String, after inputSequence: Int) async throws -> Set<String> {
        var later = Set<String>()
        let rows = try await store.client.query(
            """
            SELECT input_message_id FROM durable_turns
            WHERE session_id = \(sessionID) AND input_sequence > \(inputSequence)
            """, logger: logger)
        for try await id in rows.decode(String.self) { later.insert(id) }
        return later
    }

    public func toolResults(turnID: String, callIDs: [String]) async throws -> [String: JSONValue] {
        var recorded: [String: JSONValue] = [:]
        let rows = try await store.client.query(
            """
            SELECT tool_call_id, data::text FROM durable_tool_results
            WHERE turn_id = \(turnID) AND tool_call_id = ANY(\(callIDs)::text[])
            """, logger: logger)
        for try await (callID, data) in rows.decode((String, String).self) {
            recorded[callID] = try PostgresStore.decode(JSONValue.self, data)
        }
        return recorded
    }

    public func staleTasks(olderThan threshold: Duration, limit: Int) async throws -> [StaleTask] {
        try await store.waitForSchema()
        var candidates: [StaleTask] = []
        let rows = try await store.client.query(
            """
            SELECT t.id, t.session_id, s.organization_id FROM durable_tasks t JOIN sessions s ON s.id = t.session_id
            WHERE t.status = 'claimed' AND t.heartbeat_at < now() - (\(threshold.inSeconds) * interval '1 second')
            ORDER BY t.heartbeat_at LIMIT \(limit)
            """, logger: logger)
        for try await (taskID, sessionID, organizationID) in rows.decode((String, String, String).self) {
            candidates.append(StaleTask(taskID: taskID, sessionID: sessionID, organizationID: organizationID))
        }
        return candidates
    }

    public func expiredWaits(now: Date, limit: Int) async throws -> [WaitingTurn] {
        try await store.waitForSchema()
        var waiting: [WaitingTurn] = []
        let rows = try await store.client.query(
            """
            SELECT t.id, t.session_id, s.organization_id FROM durable_turns t JOIN sessions s ON s.id = t.session_id
            WHERE t.wait_deadline < \(now) AND t.status = 'running'
            ORDER BY t.wait_deadline LIMIT \(limit)
            """, logger: logger)
        for try await (turnID, sessionID, organizationID) in rows.decode((String, String, String).self) {
            waiting.append(WaitingTurn(turnID: turnID, sessionID: sessionID, organizationID: organizationID))
        }
        return waiting
    }

    public func listen(_ deliver: @escaping @Sendable (StepNotification) -> Void) async {
        await store.listen(on: [Self.stepsChannel, Self.cancelChannel]) { channel, payload in
            deliver(channel == Self.cancelChannel ? .turnCancelled(turnID: payload) : .stepsAvailable)
        }
    }

    public func waitUntilReady() async throws {
        try await store.waitForSchema()
    }

    public func files(sessionID: String) -> any SessionFileSystem { fileSystem(sessionID) }

    /// Turns, steps and files are rows deleted with the session (ON DELETE CASCADE).
    public func sessionDeleted(sessionID: String) async {}
}
