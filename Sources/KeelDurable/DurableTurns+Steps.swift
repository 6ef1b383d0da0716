import Foundation
import KeelCore
import KeelEngine
import KeelStorage
import PostgresNIO

/// A claimed task as the control plane sees it when a lease is checked.
struct LeasedTask: Sendable {
    var turnID: String
    var sessionID: String
    var inputMessageID: String
    var kind: String
    var attempt: Int
    var maxAttempts: Int
    var progress: TurnProgress
    var context: EventContext { EventContext(turnID: turnID, inputMessageID: inputMessageID) }
}

extension DurableTurns {
    public func claim(workerID: String, limit: Int) async throws -> [ClaimedStep] {
        guard limit > 0 else { return [] }
        try await store.waitForSchema()
        let rows = try await store.client.query(
            """
            WITH picked AS (
                SELECT id FROM durable_tasks
                WHERE status = 'pending' AND visible_at <= now()
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

    /// The batched turn-context call: the plan with the provider key decrypted now, the
    /// conversation as of this step, and the tool results earlier attempts recorded.
    ///
    /// Only for the holder of the step's lease: the step named in the request is checked against
    /// the task row (same turn, same session, still claimed by this lease), and the tool results
    /// are looked up for the step stored there, never for one the caller describes.
    public func context(for step: ClaimedStep) async throws -> StepContext {
        try await store.waitForSchema()
        let leased = try await store.client.query(
            """
            SELECT turn_id, session_id, step::text FROM durable_tasks
            WHERE id = \(step.lease.taskID) AND claimed_by = \(step.lease.workerID) AND status = 'claimed'
            """, logger: logger
        ).collect()
        guard let row = leased.first else { throw StepChannelError.leaseLost }
        let (turnID, sessionID, storedStepJSON) = try row.decode((String, String, String).self)
        guard turnID == step.turnID, sessionID == step.sessionID else { throw StepChannelError.leaseLost }
        let storedStep = try PostgresStore.decode(TurnStep.self, storedStepJSON)
        let rows = try await store.client.query(
            "SELECT spec::text, input_sequence FROM durable_turns WHERE id = \(step.turnID)", logger: logger
        ).collect()
        guard let row = rows.first, case let (specJSON?, inputSequence) = try row.decode((String?, Int).self) else {
            throw StepChannelError.leaseLost
        }
        var spec = try PostgresStore.decode(TurnSpec.self, specJSON)
        if !spec.unresolvedModel {
            spec.apiKey = try await planner.apiKey(
                providerID: spec.providerID, providerType: spec.providerType, baseURL: spec.baseURL)
        }

        // The conversation is the whole log except the messages of turns queued after this one.
        // The log is read first: a message's turn row commits with its event, so every message
        // read here has its row visible to the next query (the other order races with submit).
        let log = try await store.events(sessionID: step.sessionID, EventQuery(types: MessageProjection.sourceTypes))
        var later = Set<String>()
        let laterRows = try await store.client.query(
            """
            SELECT input_message_id FROM durable_turns
            WHERE session_id = \(step.sessionID) AND input_sequence > \(inputSequence)
            """, logger: logger)
        for try await id in laterRows.decode(String.self) { later.insert(id) }
        let events = log.filter { $0.type != EventType.inputMessage || !later.contains($0.context.inputMessageID ?? "") }
        let history = MessageProjection.messages(from: events).filter { $0.role != .system }

        var recorded: [String: JSONValue] = [:]
        if case .act(_, let message, _) = storedStep {
            let callIDs = message.toolCalls.map(\.id)
            let results = try await store.client.query(
                """
                SELECT tool_call_id, data::text FROM durable_tool_results
                WHERE turn_id = \(step.turnID) AND tool_call_id = ANY(\(callIDs)::text[])
                """, logger: logger)
            for try await (callID, data) in results.decode((String, String).self) {
                recorded[callID] = try PostgresStore.decode(JSONValue.self, data)
            }
        }
        return StepContext(spec: spec, history: history, recordedToolResults: recorded)
    }

    /// Each event is one statement that checks the lease and appends (see
    /// `PostgresStore.appendEvent(sessionID:_:leasedBy:holder:)`): live events are most of a
    /// turn's appends, so they skip the transaction round trips.
    public func emit(_ events: [EventDraft], sessionID: String, lease: StepLease) async throws {
        var appended: [Event] = []
        defer { published(appended) }
        for draft in events {
            guard
                let event = try await store.appendEvent(
                    sessionID: sessionID, draft, leasedBy: lease.taskID, holder: lease.workerID)
            else { throw StepChannelError.leaseLost }
            appended.append(event)
        }
    }

    public func recordToolResult(toolCallID: String, event: EventDraft, sessionID: String, lease: StepLease) async throws {
        let dataJSON = try PostgresStore.encode(event.data)
        let appended = try await transaction { connection -> [Event] in
            let task = try await requireLease(lease, on: connection, exclusive: false)
            let inserted = try await connection.query(
                """
                INSERT INTO durable_tool_results (turn_id, tool_call_id, task_id, data)
                VALUES (\(task.turnID), \(toolCallID), \(lease.taskID), \(dataJSON)::jsonb)
                ON CONFLICT (turn_id, tool_call_id) DO NOTHING
                RETURNING 1
                """, logger: logger
            ).collect()
            guard !inserted.isEmpty else { return [] }
            try await connection.query(
                "UPDATE durable_turns SET reclaims_without_progress = 0 WHERE id = \(task.turnID)", logger: logger)
            return try await append([event], sessionID: task.sessionID, on: connection)
        }
        published(appended)
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

    public func complete(_ lease: StepLease, _ completion: StepCompletion) async throws {
        let appended = try await transaction { connection -> [Event] in
            let task = try await requireLease(lease, on: connection, exclusive: true)
            var events = try await append(completion.events, sessionID: task.sessionID, on: connection)
            let progressJSON = try PostgresStore.encode(completion.progress)
            try await connection.query(
                "UPDATE durable_tasks SET status = 'completed', completed_at = now() WHERE id = \(lease.taskID)",
                logger: logger)
            try await connection.query(
                """
                UPDATE durable_turns SET progress = \(progressJSON)::jsonb, reclaims_without_progress = 0
                WHERE id = \(task.turnID)
                """, logger: logger)
            if let next = completion.next {
                try await enqueue(
                    next, turnID: task.turnID, sessionID: task.sessionID, progress: completion.progress, on: connection)
            } else {
                let status = if case .failed? = completion.outcome { "failed" } else { "completed" }
                events += try await finishTurn(
                    task.turnID, sessionID: task.sessionID, context: task.context, status: status,
                    progress: completion.progress, on: connection)
            }
            return events
        }
        published(appended)
    }

    public func fail(_ lease: StepLease, error: String) async throws {
        let appended = try await transaction { connection -> [Event] in
            let task = try await requireLease(lease, on: connection, exclusive: true)
            guard task.attempt >= task.maxAttempts else {
                let delay = durable.retryDelay(afterAttempt: task.attempt)
                try await connection.query(
                    """
                    UPDATE durable_tasks SET status = 'pending', claimed_by = NULL, last_error = \(error),
                        visible_at = now() + (\(delay) * interval '1 second')
                    WHERE id = \(lease.taskID)
                    """, logger: logger)
                return []
            }
            return try await deadLetter(
                lease.taskID, task, reason: "attempts_exhausted", error: error, errorCode: "processing_error",
                message: UserFacingText.turnFailure, on: connection)
        }
        published(appended)
    }

    /// Hands the attempt back (`attempt - 1`: a release is not a failure) but not the lease: the
    /// next claim takes a new lease epoch, so this lease stays invalid.
    public func release(_ lease: StepLease) async throws {
        try await transaction { connection in
            _ = try await requireLease(lease, on: connection, exclusive: true)
            try await connection.query(
                """
                UPDATE durable_tasks SET status = 'pending', claimed_by = NULL, attempt = attempt - 1, visible_at = now()
                WHERE id = \(lease.taskID)
                """, logger: logger)
            try await notifySteps(on: connection)
        }
    }

    public func notifications(workerID: String) -> AsyncThrowingStream<StepNotification, any Error> {
        signals.subscribe()
    }

    public func fileSystem(sessionID: String, lease: StepLease) -> any SessionFileSystem {
        LeaseCheckedFileSystem(files: files(sessionID)) { [self] in
            try await requireLease(lease, ofSession: sessionID)
        }
    }

    /// Throws `leaseLost` unless `lease` holds a claimed step of `sessionID`.
    func requireLease(_ lease: StepLease, ofSession sessionID: String) async throws {
        try await store.waitForSchema()
        let rows = try await store.client.query(
            """
            SELECT 1 FROM durable_tasks
            WHERE id = \(lease.taskID) AND claimed_by = \(lease.workerID) AND status = 'claimed'
                AND session_id = \(sessionID)
            """, logger: logger
        ).collect()
        guard !rows.isEmpty else { throw StepChannelError.leaseLost }
    }

    /// Checks that `lease` still holds its task and locks the row: shared for appends (several
    /// may run at once), exclusive to end the task. A cancel or reclaim takes the row exclusively,
    /// so nothing a lease-holder writes can land after the task was taken away.
    /// The exclusive form first takes the session's lock, because ending a task may end the turn;
    /// every transaction that holds both takes the session's first, so they cannot deadlock.
    func requireLease(_ lease: StepLease, on connection: PostgresConnection, exclusive: Bool) async throws -> LeasedTask {
        if exclusive {
            let owner = try await connection.query(
                "SELECT session_id FROM durable_tasks WHERE id = \(lease.taskID)", logger: logger
            ).collect()
            guard let sessionID = try owner.first?.decode(String.self) else { throw StepChannelError.leaseLost }
            guard try await lockSession(sessionID, on: connection, required: false) else {
                throw StepChannelError.leaseLost
            }
        }
        let lockMode = exclusive ? "FOR UPDATE OF t" : "FOR SHARE OF t"
        let lock: PostgresQuery = """
            SELECT t.turn_id, t.session_id, d.input_message_id, t.kind, t.attempt, t.max_attempts, t.progress::text
            FROM durable_tasks t JOIN durable_turns d ON d.id = t.turn_id
            WHERE t.id = \(lease.taskID) AND t.claimed_by = \(lease.workerID) AND t.status = 'claimed'
            \(unescaped: lockMode)
            """
        let rows = try await connection.query(lock, logger: logger).collect()
        guard let row = rows.first else { throw StepChannelError.leaseLost }
        let (turnID, sessionID, inputMessageID, kind, attempt, maxAttempts, progress) = try row.decode(
            (String, String, String, String, Int, Int, String).self)
        return LeasedTask(
            turnID: turnID, sessionID: sessionID, inputMessageID: inputMessageID, kind: kind, attempt: attempt,
            maxAttempts: maxAttempts, progress: try PostgresStore.decode(TurnProgress.self, progress))
    }

    /// Moves a task to the dead-letter table and ends its turn with `turn.failed`.
    func deadLetter(
        _ taskID: String, _ task: LeasedTask, reason: String, error: String?, errorCode: String, message: String,
        on connection: PostgresConnection
    ) async throws -> [Event] {
        try await connection.query(
            "UPDATE durable_tasks SET status = 'dead', last_error = \(error), completed_at = now() WHERE id = \(taskID)",
            logger: logger)
        try await connection.query(
            """
            INSERT INTO durable_dead_letters (task_id, turn_id, session_id, kind, attempts, reason, last_error)
            VALUES (\(taskID), \(task.turnID), \(task.sessionID), \(task.kind), \(task.attempt), \(reason), \(error))
            ON CONFLICT (task_id) DO NOTHING
            """, logger: logger)
        logger.error(
            "step dead-lettered; ending its turn",
            metadata: ["task_id": "\(taskID)", "turn_id": "\(task.turnID)", "reason": "\(reason)",
                       "attempts": "\(task.attempt)"])
        var events = try await append(
            [EventDraft(
                type: EventType.turnFailed, context: task.context,
                data: ["turn_id": .string(task.turnID), "error": .string(message), "error_code": .string(errorCode),
                       "iterations": .init(task.progress.iterations)])],
            sessionID: task.sessionID, on: connection)
        events += try await finishTurn(
            task.turnID, sessionID: task.sessionID, context: task.context, status: "failed", progress: task.progress,
            on: connection)
        return events
    }
}
