import Foundation
import KeelCore
import KeelEngine
import KeelStorage
import PostgresNIO

extension DurableTurns {
    /// Records the message and queues its turn; the turn starts at once unless another turn of the
    /// session is running (then it starts when that one ends). All in one transaction.
    public func submit(_ message: Message, sessionID: String, traceContext: TraceContext?) async throws -> Event {
        var context = EventContext(inputMessageID: message.id)
        context.traceID = traceContext?.traceID
        context.spanID = traceContext?.spanID
        let turnID = PublicID.make(.turn)
        let messageJSON = try PostgresStore.encode(message)
        let appended = try await transaction { connection -> [Event] in
            try await lockSession(sessionID, on: connection)
            try await checkQueueLimit(sessionID: sessionID, on: connection)
            let input = try await store.appendEvent(
                sessionID: sessionID,
                EventDraft(type: EventType.inputMessage, context: context, data: ["message": .encoding(message)]),
                on: connection)
            try await connection.query(
                """
                INSERT INTO durable_turns (id, session_id, input_message_id, input_sequence, input, status)
                VALUES (\(turnID), \(sessionID), \(message.id), \(input.sequence), \(messageJSON)::jsonb, 'queued')
                """, logger: logger)
            let running = try await connection.query(
                "SELECT 1 FROM durable_turns WHERE session_id = \(sessionID) AND status = 'running' LIMIT 1",
                logger: logger
            ).collect()
            guard running.isEmpty else { return [input] }
            return [input] + (try await startTurn(turnID, sessionID: sessionID, input: message, on: connection))
        }
        published(appended)
        return appended[0]
    }

    /// Refuses a message when `maxQueuedMessagesPerSession` turns already wait behind the running
    /// one (under the session lock, so concurrent posts cannot overshoot).
    private func checkQueueLimit(sessionID: String, on connection: PostgresConnection) async throws {
        let limit = configuration.maxQueuedMessagesPerSession
        let rows = try await connection.query(
            "SELECT count(*) FROM durable_turns WHERE session_id = \(sessionID) AND status = 'queued'", logger: logger)
        for try await (queued) in rows.decode(Int.self) where queued >= limit {
            throw QueuedMessageLimitExceeded(limit: limit)
        }
    }

    /// Cancels the running turn and every queued one. The cancellation events are recorded here,
    /// at once; executors running the turn's step are told to stop, and anything they send later
    /// is refused (their lease ended with the turn).
    public func cancel(sessionID: String) async throws -> Bool {
        let result = try await transaction { connection -> (turnID: String, events: [Event])? in
            guard try await lockSession(sessionID, on: connection, required: false) else { return nil }
            try await connection.query(
                """
                UPDATE durable_turns SET status = 'cancelled', ended_at = now()
                WHERE session_id = \(sessionID) AND status = 'queued'
                """, logger: logger)
            let rows = try await connection.query(
                """
                SELECT id, input_message_id, spec::text, progress::text FROM durable_turns
                WHERE session_id = \(sessionID) AND status = 'running' FOR UPDATE
                """, logger: logger
            ).collect()
            guard let row = rows.first else { return nil }
            let (turnID, inputMessageID, specJSON, progressJSON) = try row.decode((String, String, String?, String?).self)
            let progress = try progressJSON.map { try PostgresStore.decode(TurnProgress.self, $0) } ?? TurnProgress()
            let model = try specJSON.map { try PostgresStore.decode(TurnSpec.self, $0).model } ?? ""
            try await connection.query(
                """
                UPDATE durable_tasks SET status = 'cancelled', completed_at = now()
                WHERE turn_id = \(turnID) AND status IN ('pending', 'claimed')
                """, logger: logger)
            let turnContext = EventContext(turnID: turnID, inputMessageID: inputMessageID)
            var events = try await append(
                CancelledTurn.events(turnID: turnID, context: turnContext, model: model, usage: progress.usage),
                sessionID: sessionID, on: connection)
            events += try await finishTurn(
                turnID, sessionID: sessionID, context: turnContext, status: "cancelled", progress: progress,
                on: connection)
            try await connection.query("SELECT pg_notify(\(Self.cancelChannel), \(turnID))", logger: logger)
            return (turnID, events)
        }
        guard let result else { return false }
        published(result.events)
        return true
    }

    /// Takes the session's row lock, which serialises everything that starts or ends its turns.
    /// `NO KEY UPDATE` leaves the key-share locks of concurrent event appends (foreign keys) free.
    @discardableResult
    func lockSession(_ sessionID: String, on connection: PostgresConnection, required: Bool = true) async throws -> Bool {
        let rows = try await connection.query(
            "SELECT 1 FROM sessions WHERE id = \(sessionID) FOR NO KEY UPDATE", logger: logger
        ).collect()
        if rows.isEmpty && required { throw StoreError.notFound(kind: "session", id: sessionID) }
        return !rows.isEmpty
    }

    /// Activates the session, records `session.activated` and `turn.started`, and queues the first
    /// reason step. The stored plan has no provider key: keys are resolved for each step.
    func startTurn(_ turnID: String, sessionID: String, input: Message, on connection: PostgresConnection) async throws
        -> [Event]
    {
        let session = try await store.updateSession(id: sessionID, on: connection) { session in
            session.status = .active
            if session.startedAt == nil { session.startedAt = Date() }
        }
        // Everything is read on this connection: asking the pool for another while holding this
        // one would deadlock once every pooled connection does the same.
        let agent: Agent? =
            if let agentID = session.agentID { try await store.agent(id: agentID, on: connection) } else { nil }
        let providers = try await store.listProviders(organizationID: session.organizationID, on: connection)
        let planned = planner.makePlan(session: session, agent: agent, providers: providers, input: input, turnID: turnID)
        let plan = planned.turn
        let progress = TurnProgress()
        let specJSON = try PostgresStore.encode(planned.spec(organizationID: session.organizationID, withKey: false))
        let progressJSON = try PostgresStore.encode(progress)
        try await connection.query(
            """
            UPDATE durable_turns SET status = 'running', started_at = now(), spec = \(specJSON)::jsonb,
                progress = \(progressJSON)::jsonb
            WHERE id = \(turnID)
            """, logger: logger)
        let events = try await append(
            [EventDraft(
                type: EventType.sessionActivated, context: plan.context,
                data: ["turn_id": .string(turnID), "input_message_id": .string(input.id)]),
             AgentLoop.startedEvent(plan, inputText: input.text)],
            sessionID: sessionID, on: connection)
        try await enqueue(.firstReason(), turnID: turnID, sessionID: sessionID, progress: progress, on: connection)
        return events
    }

    func enqueue(
        _ step: TurnStep, turnID: String, sessionID: String, progress: TurnProgress, on connection: PostgresConnection
    ) async throws {
        let stepJSON = try PostgresStore.encode(step)
        let progressJSON = try PostgresStore.encode(progress)
        try await connection.query(
            """
            INSERT INTO durable_tasks (id, turn_id, session_id, kind, step, progress, status, max_attempts)
            VALUES (\(PublicID.make(.task)), \(turnID), \(sessionID), \(step.kind), \(stepJSON)::jsonb,
                    \(progressJSON)::jsonb, 'pending', \(durable.maxAttempts))
            """, logger: logger)
        try await notifySteps(on: connection)
    }

    /// Ends a turn: records its status, returns the session to idle with the turn's usage added,
    /// records `session.idled`, and starts the session's next queued turn, if any.
    func finishTurn(
        _ turnID: String, sessionID: String, context: EventContext, status: String, progress: TurnProgress,
        on connection: PostgresConnection
    ) async throws -> [Event] {
        let progressJSON = try PostgresStore.encode(progress)
        try await connection.query(
            """
            UPDATE durable_turns SET status = \(status), ended_at = now(), progress = \(progressJSON)::jsonb
            WHERE id = \(turnID)
            """, logger: logger)
        let usage = progress.usage
        let session = try await store.updateSession(id: sessionID, on: connection) { session in
            session.status = .idle
            session.usage = session.usage + usage
        }
        var events = try await append(
            [EventDraft(
                type: EventType.sessionIdled, context: context,
                data: ["turn_id": .string(turnID), "iterations": .init(progress.iterations),
                       "usage": session.usage.json])],
            sessionID: sessionID, on: connection)
        let queued = try await connection.query(
            """
            SELECT id, input::text FROM durable_turns
            WHERE session_id = \(sessionID) AND status = 'queued'
            ORDER BY input_sequence LIMIT 1
            """, logger: logger
        ).collect()
        if let next = queued.first {
            let (nextID, inputJSON) = try next.decode((String, String).self)
            events += try await startTurn(
                nextID, sessionID: sessionID, input: try PostgresStore.decode(Message.self, inputJSON), on: connection)
        }
        return events
    }
}

