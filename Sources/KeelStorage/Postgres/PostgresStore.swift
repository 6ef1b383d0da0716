import Foundation
import KeelCore
import Logging
import PostgresNIO
import ServiceLifecycle
import Synchronization

/// `KeelStore` on PostgreSQL (durable mode), behaving exactly like `InMemoryStore`.
///
/// * It is a ServiceLifecycle `Service`: `run()` runs the connection pool (`client`), applies the schema
///   migrations (under an advisory lock, so instances may boot together) and keeps a dedicated LISTEN
///   connection that turns other instances' appends into local `eventSignals` wake-ups. Calls made
///   before the migrations have finished wait for them. Run it once (a `PostgresClient` can run once).
/// * Agents, sessions and providers are JSONB documents (KeelJSON encoding) next to the columns that
///   are queried. Timestamps are kept with millisecond precision, the precision of the wire format;
///   values returned by the store are normalised the same way, so they compare equal to what a later
///   read returns.
/// * Events are append-only rows. `appendEvent` allocates the next gapless sequence with an upsert on
///   `event_sequences` in the same statement as the insert; a trigger refuses UPDATE, and DELETE except
///   as the cascade of deleting the session; another trigger sends `NOTIFY keel_events, '<session id>'`,
///   which PostgreSQL delivers when the append commits.
public final class PostgresStore: KeelStore, Service, Sendable {
    /// The NOTIFY channel carrying the session id of every committed append (and of deleted sessions).
    public static let eventChannel = "keel_events"

    public let configuration: Configuration
    /// The query pool. `run()` runs it; do not run it separately.
    public let client: PostgresClient
    public let eventSignals = SessionEventSignals()
    /// What `run()` migrates: storage's own set, then the other modules' sets given to `init`.
    public let migrationSets: [PostgresMigrationSet]

    let logger: Logger
    private let schemaReady = ReadinessGate()
    private let listening = ReadinessGate()
    private let connectionIDs = Atomic<Int>(1_000_000)

    /// `migrations`: the sets of the other modules whose tables live in this database (KeelDurable's
    /// `.durable` in durable mode), applied after storage's own, in order.
    public init(
        configuration: Configuration, migrations: [PostgresMigrationSet] = [],
        logger: Logger = Logger(label: "keel.storage.postgres")
    ) throws {
        self.configuration = configuration
        self.migrationSets = [.storage] + migrations
        self.logger = logger
        self.client = PostgresClient(configuration: try configuration.clientConfiguration(), backgroundLogger: logger)
    }

    public convenience init(
        url: String, maxConnections: Int = 20, migrations: [PostgresMigrationSet] = [],
        logger: Logger = Logger(label: "keel.storage.postgres")
    ) throws {
        try self.init(
            configuration: Configuration(url: url, maxConnections: maxConnections), migrations: migrations,
            logger: logger)
    }

    // MARK: Lifecycle

    /// Runs the pool, migrates, then listens for other instances' appends until graceful shutdown or
    /// cancellation. Throws if the migrations fail.
    public func run() async throws {
        do {
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { await self.client.run() }
                do {
                    try await migrate()
                } catch {
                    logger.error("database migration failed", metadata: ["error": "\(Self.describe(error))"])
                    throw error
                }
                schemaReady.open()
                group.addTask { await self.listenForEvents() }
                // Both children end on graceful shutdown or cancellation; when one ends, stop the other.
                _ = try await group.next()
                group.cancelAll()
            }
        } catch {
            schemaReady.fail(error)
            listening.fail(error)
            throw error
        }
        schemaReady.fail(PostgresStoreError.notRunning)
        listening.fail(PostgresStoreError.notRunning)
    }

    /// Applies pending migrations on a connection of its own (the advisory lock is held by that
    /// session; closing it releases the lock even if something goes wrong half-way).
    private func migrate() async throws {
        let connection = try await PostgresConnection.connect(
            configuration: configuration.connectionConfiguration(applicationName: "keel-migrations"),
            id: connectionIDs.add(1, ordering: .relaxed).newValue, logger: logger)
        do {
            try await PostgresMigrations.apply(migrationSets, on: connection, logger: logger)
        } catch {
            try? await connection.close()
            throw error
        }
        try await connection.close()
    }

    /// Waits until the schema is migrated and the LISTEN connection is established.
    /// Waits until the schema is migrated (the pool is usable).
    package func waitForSchema() async throws {
        try await schemaReady.wait()
    }

    public func waitUntilReady() async throws {
        try await schemaReady.wait()
        try await listening.wait()
    }

    /// Runs the store for the duration of `body` (for tools and tests that have no service group).
    public func withRunning<Result: Sendable>(_ body: (PostgresStore) async throws -> Result) async throws -> Result {
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await self.run() }
            do {
                try await waitUntilReady()
                let result = try await body(self)
                group.cancelAll()
                return result
            } catch {
                group.cancelAll()
                throw error
            }
        }
    }

    /// The LISTEN loop for event appends.
    private func listenForEvents() async {
        await listen(on: [Self.eventChannel], onListening: { self.listening.open() }) { _, payload in
            self.eventSignals.notify(sessionID: payload)
        }
    }

    /// Listens on `channels` until cancelled: one dedicated connection (outside the pool),
    /// re-established with backoff when it drops. `onListening` runs each time the listeners are
    /// in place; notifications from this instance come back too.
    package func listen(
        on channels: [String], onListening: @escaping @Sendable () -> Void = {},
        _ handle: @escaping @Sendable (_ channel: String, _ payload: String) -> Void
    ) async {
        let backoff = Backoff(initial: .milliseconds(100), maximum: .seconds(5))
        var failures = 0
        while !Task.isCancelled {
            do {
                let connection = try await PostgresConnection.connect(
                    configuration: configuration.connectionConfiguration(applicationName: "keel-listener"),
                    id: connectionIDs.add(1, ordering: .relaxed).newValue, logger: logger)
                do {
                    try await withThrowingTaskGroup(of: Void.self) { group in
                        let ready = ListenerCount()
                        for channel in channels {
                            group.addTask {
                                try await connection.listen(on: channel) { notifications in
                                    if ready.increment() == channels.count { onListening() }
                                    for try await notification in notifications { handle(channel, notification.payload) }
                                }
                            }
                        }
                        // One listener ending means the connection is gone: restart them all.
                        try await group.next()
                        group.cancelAll()
                    }
                    failures = 0
                } catch where !Task.isCancelled {
                    logger.warning("LISTEN connection lost", metadata: ["error": "\(Self.describe(error))"])
                } catch {}
                try? await connection.close()
            } catch where !Task.isCancelled {
                logger.warning("cannot open the LISTEN connection", metadata: ["error": "\(Self.describe(error))"])
            } catch {}
            guard !Task.isCancelled else { break }
            try? await Task.sleep(for: backoff.delay(forRetry: failures))
            failures += 1
        }
    }

    // MARK: Agents

    public func insertAgent(_ agent: Agent) async throws {
        let (json, stored) = try Self.normalise(agent)
        try await transaction { connection in
            do {
                let inserted = try await connection.query(
                    """
                    INSERT INTO agents (id, organization_id, name, display_name, status, created_at, doc)
                    VALUES (\(stored.id), \(stored.organizationID), \(stored.name), \(stored.displayName),
                            \(stored.status.rawValue), \(stored.createdAt), \(json)::jsonb)
                    ON CONFLICT (id) DO NOTHING
                    RETURNING 1
                    """, logger: logger
                ).collect()
                guard !inserted.isEmpty else { throw StoreError.conflict("agent \(stored.id) already exists") }
            } catch where Self.sqlState(error) == "23505" {
                throw Self.agentConflict(error, stored)
            }
            // The unique index covers live agents; a deleted one may still not take a live agent's name.
            if stored.status == .deleted, try await liveAgentNameTaken(stored, on: connection) {
                throw StoreError.conflict("an agent named '\(stored.name)' already exists")
            }
        }
    }

    public func agent(id: String) async throws -> Agent? {
        try await withPooledConnection { try await agent(id: id, on: $0) }
    }

    public func agent(named name: String, organizationID: String) async throws -> Agent? {
        try await document(
            Agent.self,
            """
            SELECT doc::text FROM agents
            WHERE organization_id = \(organizationID) AND name = \(name) AND status <> 'deleted'
            LIMIT 1
            """)
    }

    public func listAgents(organizationID: String, includeArchived: Bool, search: String?, offset: Int, limit: Int)
        async throws -> Page<Agent>
    {
        let search = search.flatMap { $0.isEmpty ? nil : $0 }
        return try await page(
            Agent.self,
            """
            WITH m AS (
                SELECT doc, created_at, id FROM agents
                WHERE organization_id = \(organizationID) AND status <> 'deleted'
                  AND (\(includeArchived) OR status = 'active')
                  AND (\(search)::text IS NULL
                       OR strpos(keel_fold(name), keel_fold(\(search)::text)) > 0
                       OR strpos(keel_fold(display_name), keel_fold(\(search)::text)) > 0)
            )
            SELECT c.total, p.doc::text
            FROM (SELECT count(*) AS total FROM m) c
            LEFT JOIN LATERAL (
                SELECT doc, created_at, id FROM m ORDER BY created_at DESC, id DESC
                OFFSET \(max(offset, 0)) LIMIT \(max(limit, 0))
            ) p ON true
            ORDER BY p.created_at DESC, p.id DESC
            """, offset: offset, limit: limit)
    }

    public func updateAgent(id: String, _ change: @Sendable (inout Agent) throws -> Void) async throws -> Agent {
        try await transaction { connection in
            guard
                var agent = try await Self.document(
                    Agent.self,
                    "SELECT doc::text FROM agents WHERE id = \(id) AND status <> 'deleted' FOR UPDATE",
                    on: connection, logger: logger)
            else { throw StoreError.notFound(kind: "agent", id: id) }
            try change(&agent)
            agent.updatedAt = Date()
            let (json, stored) = try Self.normalise(agent)
            if try await liveAgentNameTaken(stored, excluding: id, on: connection) {
                throw StoreError.conflict("an agent named '\(stored.name)' already exists")
            }
            do {
                try await connection.query(
                    """
                    UPDATE agents SET organization_id = \(stored.organizationID), name = \(stored.name),
                        display_name = \(stored.displayName), status = \(stored.status.rawValue),
                        created_at = \(stored.createdAt), doc = \(json)::jsonb
                    WHERE id = \(id)
                    """, logger: logger)
            } catch where Self.sqlState(error) == "23505" {
                throw Self.agentConflict(error, stored)
            }
            return stored
        }
    }

    private func liveAgentNameTaken(_ agent: Agent, excluding id: String? = nil, on connection: PostgresConnection)
        async throws -> Bool
    {
        let excluded = id ?? agent.id
        return try await !connection.query(
            """
            SELECT 1 FROM agents
            WHERE organization_id = \(agent.organizationID) AND name = \(agent.name) AND status <> 'deleted'
              AND id <> \(excluded)
            LIMIT 1
            """, logger: logger
        ).collect().isEmpty
    }

    private static func agentConflict(_ error: any Error, _ agent: Agent) -> StoreError {
        if (error as? PSQLError)?.serverInfo?[.constraintName] == "agents_pkey" {
            return .conflict("agent \(agent.id) already exists")
        }
        return .conflict("an agent named '\(agent.name)' already exists")
    }

    // MARK: Sessions

    public func insertSession(_ session: Session) async throws {
        let (json, stored) = try Self.normalise(session)
        try await schemaReady.wait()
        let inserted = try await client.query(
            """
            INSERT INTO sessions (id, organization_id, agent_id, title, created_at, doc)
            VALUES (\(stored.id), \(stored.organizationID), \(stored.agentID), \(stored.title), \(stored.createdAt),
                    \(json)::jsonb)
            ON CONFLICT (id) DO NOTHING
            RETURNING 1
            """, logger: logger
        ).collect()
        guard !inserted.isEmpty else { throw StoreError.conflict("session \(stored.id) already exists") }
    }

    public func session(id: String) async throws -> Session? {
        try await document(Session.self, "SELECT doc::text FROM sessions WHERE id = \(id)")
    }

    public func listSessions(organizationID: String, agentID: String?, search: String?, offset: Int, limit: Int)
        async throws -> Page<Session>
    {
        let search = search.flatMap { $0.isEmpty ? nil : $0 }
        return try await page(
            Session.self,
            """
            WITH m AS (
                SELECT doc, created_at, id FROM sessions
                WHERE organization_id = \(organizationID)
                  AND (\(agentID)::text IS NULL OR agent_id = \(agentID)::text)
                  AND (\(search)::text IS NULL OR strpos(keel_fold(title), keel_fold(\(search)::text)) > 0)
            )
            SELECT c.total, p.doc::text
            FROM (SELECT count(*) AS total FROM m) c
            LEFT JOIN LATERAL (
                SELECT doc, created_at, id FROM m ORDER BY created_at DESC, id DESC
                OFFSET \(max(offset, 0)) LIMIT \(max(limit, 0))
            ) p ON true
            ORDER BY p.created_at DESC, p.id DESC
            """, offset: offset, limit: limit)
    }

    public func updateSession(id: String, _ change: @Sendable (inout Session) throws -> Void) async throws -> Session {
        try await transaction { try await updateSession(id: id, on: $0, change) }
    }

    /// Updates a session on `connection`, inside the caller's transaction (the row stays locked).
    package func updateSession(
        id: String, on connection: PostgresConnection, _ change: @Sendable (inout Session) throws -> Void
    ) async throws -> Session {
        guard
            var session = try await Self.document(
                Session.self, "SELECT doc::text FROM sessions WHERE id = \(id) FOR NO KEY UPDATE",
                on: connection, logger: logger)
        else { throw StoreError.notFound(kind: "session", id: id) }
        try change(&session)
        session.updatedAt = Date()
        let (json, stored) = try Self.normalise(session)
        try await connection.query(
            """
            UPDATE sessions SET organization_id = \(stored.organizationID), agent_id = \(stored.agentID),
                title = \(stored.title), created_at = \(stored.createdAt), doc = \(json)::jsonb
            WHERE id = \(id)
            """, logger: logger)
        return stored
    }

    /// Deletes the session with its events (the only way events are ever deleted) and wakes its
    /// readers here and, through NOTIFY, on the other instances.
    public func deleteSession(id: String) async throws {
        try await transaction { connection in
            let deleted = try await connection.query(
                "DELETE FROM sessions WHERE id = \(id) RETURNING 1", logger: logger
            ).collect()
            guard !deleted.isEmpty else { throw StoreError.notFound(kind: "session", id: id) }
            try await connection.query("SELECT pg_notify(\(Self.eventChannel), \(id))", logger: logger)
        }
        eventSignals.notify(sessionID: id)
    }

    // MARK: Providers

    public func insertProvider(_ provider: LLMProvider) async throws {
        let (json, stored) = try Self.normalise(provider)
        try await schemaReady.wait()
        let inserted = try await client.query(
            """
            INSERT INTO providers (id, organization_id, created_at, doc)
            VALUES (\(stored.id), \(stored.organizationID), \(stored.createdAt), \(json)::jsonb)
            ON CONFLICT (id) DO NOTHING
            RETURNING 1
            """, logger: logger
        ).collect()
        guard !inserted.isEmpty else { throw StoreError.conflict("provider \(stored.id) already exists") }
    }

    public func provider(id: String) async throws -> LLMProvider? {
        try await document(LLMProvider.self, "SELECT doc::text FROM providers WHERE id = \(id)")
    }

    /// An agent read on `connection` (inside the caller's transaction).
    package func agent(id: String, on connection: PostgresConnection) async throws -> Agent? {
        try await Self.document(
            Agent.self, "SELECT doc::text FROM agents WHERE id = \(id) AND status <> 'deleted'", on: connection,
            logger: logger)
    }

    /// An organization's providers read on `connection` (inside the caller's transaction), oldest first.
    package func listProviders(organizationID: String, on connection: PostgresConnection) async throws -> [LLMProvider] {
        let rows = try await connection.query(
            """
            SELECT doc::text FROM providers WHERE organization_id = \(organizationID)
            ORDER BY created_at, id
            """, logger: logger
        ).collect()
        return try rows.map { try Self.decode(LLMProvider.self, $0.decode(String.self)) }
    }

    public func listProviders(organizationID: String) async throws -> [LLMProvider] {
        try await withPooledConnection { try await listProviders(organizationID: organizationID, on: $0) }
    }

    public func updateProvider(id: String, _ change: @Sendable (inout LLMProvider) throws -> Void) async throws
        -> LLMProvider
    {
        try await transaction { connection in
            guard
                var provider = try await Self.document(
                    LLMProvider.self, "SELECT doc::text FROM providers WHERE id = \(id) FOR UPDATE",
                    on: connection, logger: logger)
            else { throw StoreError.notFound(kind: "provider", id: id) }
            try change(&provider)
            provider.updatedAt = Date()
            let (json, stored) = try Self.normalise(provider)
            try await connection.query(
                """
                UPDATE providers SET organization_id = \(stored.organizationID), created_at = \(stored.createdAt),
                    doc = \(json)::jsonb
                WHERE id = \(id)
                """, logger: logger)
            return stored
        }
    }

    public func deleteProvider(id: String) async throws {
        try await schemaReady.wait()
        let deleted = try await client.query("DELETE FROM providers WHERE id = \(id) RETURNING 1", logger: logger)
            .collect()
        guard !deleted.isEmpty else { throw StoreError.notFound(kind: "provider", id: id) }
    }

    // MARK: Events

    /// One statement: the sequence upsert and the insert commit together, so sequences have no gaps
    /// (a failed insert rolls the allocation back) and concurrent appends serialise on the
    /// `event_sequences` row. A missing session fails the foreign key → `StoreError.notFound`.
    public func appendEvent(sessionID: String, _ draft: EventDraft) async throws -> Event {
        let event = try await withPooledConnection { try await appendEvent(sessionID: sessionID, draft, on: $0) }
        eventSignals.notify(sessionID: sessionID)
        return event
    }

    /// Appends on `connection` (inside the caller's transaction, if any). Local readers are not
    /// woken: call `eventSignals.notify` after the commit.
    package func appendEvent(sessionID: String, _ draft: EventDraft, on connection: PostgresConnection) async throws
        -> Event
    {
        let row = try EventRow(draft, sessionID: sessionID)
        let event = try await insert(
            row,
            """
            WITH allocated AS (
                INSERT INTO event_sequences AS s (session_id, last_sequence) VALUES (\(sessionID), 1)
                ON CONFLICT (session_id) DO UPDATE SET last_sequence = s.last_sequence + 1
                RETURNING last_sequence
            )
            INSERT INTO events (id, session_id, sequence, type, ts, context, data, metadata, tags)
            SELECT \(row.event.id), \(sessionID), last_sequence, \(row.event.type.rawValue), \(row.event.ts), \(row.context)::jsonb,
                   \(row.data)::jsonb, \(row.metadata)::jsonb, \(row.event.tags)::text[]
            FROM allocated
            RETURNING sequence
            """, on: connection)
        guard let event else { throw PostgresStoreError.corruptRow("no sequence returned for an append") }
        return event
    }

    /// Appends only while the durable task `taskID` of this session is claimed by `holder`, in one statement: the
    /// task row is share-locked by the same statement that allocates the sequence and inserts, so
    /// a cancel or reclaim (which update that row) orders strictly before or after the append.
    /// Returns nil, appending nothing, when the lease is not held. Local readers are not woken.
    package func appendEvent(sessionID: String, _ draft: EventDraft, leasedBy taskID: String, holder: String)
        async throws -> Event?
    {
        let row = try EventRow(draft, sessionID: sessionID)
        return try await withPooledConnection { connection in
            try await insert(
                row,
                """
                WITH lease AS (
                    SELECT 1 FROM durable_tasks
                    WHERE id = \(taskID) AND claimed_by = \(holder) AND status = 'claimed'
                      AND session_id = \(sessionID)
                    FOR SHARE
                ), allocated AS (
                    INSERT INTO event_sequences AS s (session_id, last_sequence) SELECT \(sessionID), 1 FROM lease
                    ON CONFLICT (session_id) DO UPDATE SET last_sequence = s.last_sequence + 1
                    RETURNING last_sequence
                )
                INSERT INTO events (id, session_id, sequence, type, ts, context, data, metadata, tags)
                SELECT \(row.event.id), \(sessionID), last_sequence, \(row.event.type.rawValue), \(row.event.ts),
                       \(row.context)::jsonb, \(row.data)::jsonb, \(row.metadata)::jsonb, \(row.event.tags)::text[]
                FROM allocated
                RETURNING sequence
                """, on: connection)
        }
    }

    /// Runs an append statement; nil when it inserted nothing.
    private func insert(_ row: EventRow, _ query: PostgresQuery, on connection: PostgresConnection) async throws -> Event? {
        var event = row.event
        do {
            let rows = try await connection.query(query, logger: logger)
            for try await sequence in rows.decode(Int.self) { event.sequence = sequence }
        } catch where Self.sqlState(error) == "23503" {
            throw StoreError.notFound(kind: "session", id: event.sessionID)
        } catch where Self.sqlState(error) == "23505" {
            throw StoreError.conflict("event \(event.id) already exists")
        }
        return event.sequence > 0 ? event : nil
    }

    /// An event as it will be stored: the JSON columns, and the event as a later read returns it
    /// (only a replaced U+0000, see encodeForJSONB, can make that differ from the draft).
    private struct EventRow {
        var event: Event
        var context: String
        var data: String
        var metadata: String?

        init(_ draft: EventDraft, sessionID: String) throws {
            event = Event(
                type: draft.type, ts: PostgresStore.normalise(Date()), sessionID: sessionID, sequence: 0,
                context: draft.context, data: draft.data, metadata: draft.metadata, tags: draft.tags)
            let (context, contextReplaced) = try PostgresStore.encodeForJSONB(event.context)
            if contextReplaced { event.context = try PostgresStore.decode(EventContext.self, context) }
            let (data, dataReplaced) = try PostgresStore.encodeForJSONB(event.data)
            if dataReplaced { event.data = try PostgresStore.decode(JSONValue.self, data) }
            self.context = context
            self.data = data
            if let value = event.metadata {
                let (json, replaced) = try PostgresStore.encodeForJSONB(value)
                if replaced { event.metadata = try PostgresStore.decode(JSONValue.self, json) }
                metadata = json
            }
        }
    }

    public func events(sessionID: String, _ query: EventQuery) async throws -> [Event] {
        try await schemaReady.wait()
        var binds = PostgresBindings()
        binds.append(sessionID)
        binds.append(query.afterSequence)
        binds.append(query.types.map { $0.map(\.rawValue) })
        binds.append(query.excluded.map(\.rawValue))
        let select = """
            SELECT \(Self.eventColumns) FROM events
            WHERE session_id = $1 AND sequence > $2
              AND ($3::text[] IS NULL OR type = ANY($3::text[]))
              AND NOT (type = ANY($4::text[]))
            """
        let sql =
            switch query.limit {
            case nil: select + " ORDER BY sequence"
            case let limit? where query.lastN:
                "SELECT * FROM (\(select) ORDER BY sequence DESC LIMIT \(max(limit, 0))) tail ORDER BY sequence"
            case let limit?: select + " ORDER BY sequence LIMIT \(max(limit, 0))"
            }
        return try await readEvents(PostgresQuery(unsafeSQL: sql, binds: binds))
    }

    public func event(id: String) async throws -> Event? {
        try await schemaReady.wait()
        return try await readEvents("SELECT \(unescaped: Self.eventColumns) FROM events WHERE id = \(id)").first
    }

    package static let eventColumns =
        "id, session_id, sequence, type, ts, context::text, data::text, metadata::text, tags"

    private func readEvents(_ query: PostgresQuery) async throws -> [Event] {
        try await readEvents(query, on: nil)
    }

    /// Reads events on `connection` (inside a transaction) or on the pool.
    package func readEvents(_ query: PostgresQuery, on connection: PostgresConnection?) async throws -> [Event] {
        var events: [Event] = []
        let rows =
            if let connection { try await connection.query(query, logger: logger) } else {
                try await client.query(query, logger: logger)
            }
        for try await (id, sessionID, sequence, type, ts, context, data, metadata, tags) in rows.decode(
            (String, String, Int, String, Date, String, String, String?, [String]?).self)
        {
            events.append(
                Event(
                    id: id, type: EventType(rawValue: type), ts: Self.normalise(ts), sessionID: sessionID, sequence: sequence,
                    context: try Self.decode(EventContext.self, context), data: try Self.decode(JSONValue.self, data),
                    metadata: try metadata.map { try Self.decode(JSONValue.self, $0) }, tags: tags))
        }
        return events
    }

    // MARK: Helpers

    /// A pooled connection once the schema is in place, for reads and single statements.
    private func withPooledConnection<Result: Sendable>(_ body: (PostgresConnection) async throws -> Result)
        async throws -> Result
    {
        try await schemaReady.wait()
        return try await client.withConnection(body)
    }

    /// BEGIN … COMMIT on one pooled connection; ROLLBACK and rethrow the original error on failure
    /// (`StoreError`s thrown inside reach the caller unchanged).
    package func transaction<Result: Sendable>(_ body: (PostgresConnection) async throws -> Result) async throws
        -> Result
    {
        return try await withPooledConnection { connection in
            try await connection.query("BEGIN", logger: logger)
            do {
                let result = try await body(connection)
                try await connection.query("COMMIT", logger: logger)
                return result
            } catch {
                _ = try? await connection.query("ROLLBACK", logger: logger)
                throw error
            }
        }
    }

    private func document<T: Decodable & Sendable>(_ type: T.Type, _ query: PostgresQuery) async throws -> T? {
        try await schemaReady.wait()
        let rows = try await client.query(query, logger: logger)
        for try await json in rows.decode(String.self) { return try Self.decode(T.self, json) }
        return nil
    }

    private static func document<T: Decodable>(
        _ type: T.Type, _ query: PostgresQuery, on connection: PostgresConnection, logger: Logger
    ) async throws -> T? {
        let rows = try await connection.query(query, logger: logger).collect()
        guard let row = rows.first else { return nil }
        return try decode(T.self, row.decode(String.self))
    }

    private func page<T: Decodable & Sendable>(_ type: T.Type, _ query: PostgresQuery, offset: Int, limit: Int)
        async throws -> Page<T>
    {
        try await schemaReady.wait()
        var total = 0
        var items: [T] = []
        let rows = try await client.query(query, logger: logger)
        for try await (count, json) in rows.decode((Int, String?).self) {
            total = count
            if let json { items.append(try Self.decode(T.self, json)) }
        }
        return Page(items: items, total: total, offset: offset, limit: limit)
    }

    package static func encode<T: Encodable>(_ value: T) throws -> String {
        try encodeForJSONB(value).json
    }

    /// KeelJSON text that `jsonb` accepts: jsonb cannot hold U+0000, so a `\u0000` escape becomes
    /// `\ufffd` (U+FFFD) instead of failing the write. `replaced` says whether that happened.
    static func encodeForJSONB<T: Encodable>(_ value: T) throws -> (json: String, replaced: Bool) {
        let bytes = [UInt8](try KeelJSON.encoder.encode(value))
        let backslash = UInt8(ascii: "\\")
        guard bytes.contains(backslash) else { return (String(decoding: bytes, as: UTF8.self), false) }
        let nul = Array("u0000".utf8)
        let replacement = Array("ufffd".utf8)
        var output: [UInt8] = []
        output.reserveCapacity(bytes.count)
        var replaced = false
        var index = 0
        while index < bytes.count {
            let byte = bytes[index]
            guard byte == backslash, index + 1 < bytes.count else {
                output.append(byte)
                index += 1
                continue
            }
            // Outside strings JSON has no backslashes; inside, each one starts an escape.
            output.append(backslash)
            if index + 6 <= bytes.count, Array(bytes[(index + 1)..<(index + 6)]) == nul {
                output.append(contentsOf: replacement)
                replaced = true
                index += 6
            } else {
                output.append(bytes[index + 1])
                index += 2
            }
        }
        return (String(decoding: output, as: UTF8.self), replaced)
    }

    package static func decode<T: Decodable>(_ type: T.Type, _ json: String) throws -> T {
        do {
            return try KeelJSON.decoder.decode(T.self, from: Data(json.utf8))
        } catch {
            throw PostgresStoreError.corruptRow("cannot decode \(T.self): \(error)")
        }
    }

    /// The stored JSON and the value as a later read will return it (timestamps at millisecond precision).
    private static func normalise<T: Codable>(_ value: T) throws -> (json: String, value: T) {
        let json = try encode(value)
        return (json, try decode(T.self, json))
    }

    private static func normalise(_ date: Date) -> Date {
        KeelJSON.parseTimestamp(KeelJSON.timestamp(date)) ?? date
    }

    package static func sqlState(_ error: any Error) -> String? {
        (error as? PSQLError)?.serverInfo?[.sqlState]
    }

    /// A readable description of an error; for server errors the SQLSTATE and message (PSQLError's own
    /// description deliberately says nothing).
    package static func describe(_ error: any Error) -> String {
        guard let error = error as? PSQLError else { return String(describing: error) }
        if let info = error.serverInfo {
            var text = "\(info[.sqlState] ?? "?????"): \(info[.message] ?? "server error")"
            if let detail = info[.detail] { text += " (\(detail))" }
            return text
        }
        return String(reflecting: error)
    }
}

/// Counts the channels whose LISTEN is in place.
private final class ListenerCount: Sendable {
    private let count = Atomic<Int>(0)

    func increment() -> Int { count.add(1, ordering: .relaxed).newValue }
}
