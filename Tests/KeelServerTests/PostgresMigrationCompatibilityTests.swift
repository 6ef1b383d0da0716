import Foundation
import KeelCore
import KeelDurable
import KeelStorage
import Logging
import PostgresNIO
import Testing

/// Databases migrated by releases that kept one migration list for every module (`schema_migrations`,
/// versions 1–4) keep working with per-module tracks: nothing runs twice, nothing is lost, and the
/// schema ends up the same as a fresh database's.
@Suite("PostgreSQL migrations: databases of earlier releases", .serialized, .timeLimit(.minutes(2)))
struct PostgresMigrationCompatibilityTests {
    static let logger = Logger(label: "keel.tests.migrations")

    /// The single list of earlier releases: its version numbers, and which migration each one was.
    static let earlierList: [(version: Int, migration: PostgresMigration)] = [
        (1, PostgresMigrationSet.storage.migrations[0]),
        (2, PostgresMigrationSet.durable.migrations[0]),
        (3, PostgresMigrationSet.durable.migrations[1]),
        (4, PostgresMigrationSet.durable.migrations[2]),
    ]

    /// Migrates the way earlier releases did, up to `lastVersion`: their bookkeeping table, one
    /// transaction per version.
    static func migrateLikeEarlierReleases(through lastVersion: Int, _ url: String) async throws {
        try await withConnection(url) { connection in
            try await connection.query(
                """
                CREATE TABLE IF NOT EXISTS schema_migrations (
                    version integer PRIMARY KEY,
                    name text NOT NULL,
                    applied_at timestamptz NOT NULL DEFAULT now()
                )
                """, logger: logger)
            for (version, migration) in earlierList where version <= lastVersion {
                try await connection.query("BEGIN", logger: logger)
                for statement in migration.statements {
                    try await connection.query(PostgresQuery(unsafeSQL: statement), logger: logger)
                }
                try await connection.query(
                    "INSERT INTO schema_migrations (version, name) VALUES (\(version), \(migration.name))", logger: logger)
                try await connection.query("COMMIT", logger: logger)
            }
        }
    }

    static func withConnection(_ url: String, _ body: (PostgresConnection) async throws -> Void) async throws {
        let configuration = try PostgresStore.Configuration(url: url).connectionConfiguration()
        let connection = try await PostgresConnection.connect(configuration: configuration, id: 1, logger: logger)
        do { try await body(connection) } catch {
            try? await connection.close()
            throw error
        }
        try await connection.close()
    }

    /// The schema as the catalogues describe it: columns (in order), indexes, constraints, triggers,
    /// functions; the bookkeeping tables aside.
    static func schema(_ store: PostgresStore) async throws -> [String] {
        let bookkeeping = "('schema_migrations', 'module_migrations')"
        let queries = [
            """
            SELECT table_name || '.' || column_name || ' #' || ordinal_position || ' ' || data_type || ' '
                || is_nullable || ' ' || coalesce(column_default, '-') || ' ' || coalesce(collation_name, '-')
            FROM information_schema.columns
            WHERE table_schema = 'public' AND table_name NOT IN \(bookkeeping)
            """,
            """
            SELECT 'index ' || indexdef FROM pg_indexes
            WHERE schemaname = 'public' AND tablename NOT IN \(bookkeeping)
            """,
            """
            SELECT 'constraint ' || conrelid::regclass::text || ' ' || conname || ' ' || pg_get_constraintdef(oid)
            FROM pg_constraint
            WHERE connamespace = 'public'::regnamespace AND conrelid::regclass::text NOT IN \(bookkeeping)
            """,
            "SELECT 'trigger ' || pg_get_triggerdef(oid) FROM pg_trigger WHERE NOT tgisinternal",
            "SELECT 'function ' || pg_get_functiondef(oid) FROM pg_proc WHERE pronamespace = 'public'::regnamespace",
        ]
        var lines: [String] = []
        for sql in queries {
            for try await line in try await store.client.query(PostgresQuery(unsafeSQL: sql)).decode(String.self) {
                lines.append(line)
            }
        }
        return lines.sorted()
    }

    static func rows(_ sql: String, _ store: PostgresStore) async throws -> [String] {
        var rows: [String] = []
        for try await row in try await store.client.query(PostgresQuery(unsafeSQL: sql)).decode(String.self) {
            rows.append(row)
        }
        return rows
    }

    static let tracks = "SELECT module || ' ' || version || ' ' || name FROM module_migrations ORDER BY module, version"
    static let allTracks = [
        "auth 1 organizations, users, memberships, API keys, refresh tokens",
        "durable 1 durable turns: step task queue, tool-result checkpoints, dead letters", "durable 2 session files",
        "durable 3 lease epoch", "durable 4 client waits",
        "durable 5 operations: workers, error history, requeues, operations log, circuit breakers",
        "storage 1 agents, sessions, providers, append-only events",
        "storage 2 Agent Protocol records (assistants, threads, runs)", "storage 3 events: retention deletes",
        "storage 4 events: the append notification names the sequence",
    ]

    @Test("a database migrated by the single list opens with the same schema, its data and its history kept",
          arguments: [1, 2, 4])
    func earlierDatabase(lastVersion: Int) async throws {
        try await PostgresPersistenceTests.withDatabase { fresh in
            let expected = try await PostgresStore(url: fresh, maxConnections: 2, migrations: [.durable]).withRunning {
                try await Self.schema($0)
            }
            #expect(expected.contains { $0.hasPrefix("durable_tasks.lease_epoch ") })
            #expect(expected.contains { $0.hasPrefix("session_files.content ") })

            try await PostgresPersistenceTests.withDatabase { url in
                try await Self.migrateLikeEarlierReleases(through: lastVersion, url)
                let session = Session(now: Date(timeIntervalSince1970: 1_767_225_600))
                let doc = String(decoding: try KeelJSON.encoder.encode(session), as: UTF8.self)
                try await Self.withConnection(url) { connection in
                    try await connection.query(
                        """
                        INSERT INTO sessions (id, organization_id, created_at, doc)
                        VALUES (\(session.id), \(session.organizationID), \(session.createdAt), \(doc)::jsonb)
                        """, logger: Self.logger)
                    if lastVersion >= 2 {
                        try await connection.query(
                            """
                            INSERT INTO durable_turns (id, session_id, input_message_id, input_sequence, input, status)
                            VALUES ('turn_old', \(session.id), 'message_old', 1, '{}'::jsonb, 'completed')
                            """, logger: Self.logger)
                    }
                }
                let history = "SELECT version || ' ' || name || ' ' || applied_at FROM schema_migrations ORDER BY version"
                for attempt in 1...2 {  // the second start finds everything recorded and applies nothing
                    try await PostgresStore(url: url, maxConnections: 2, migrations: [.durable]).withRunning { store in
                        let legacyHistory = try await Self.rows(history, store)
                        #expect(legacyHistory.count == lastVersion, "the old bookkeeping table is left as it was")
                        #expect(try await Self.schema(store) == expected, "start \(attempt)")
                        #expect(try await Self.rows(Self.tracks, store) == Self.allTracks, "start \(attempt)")
                        // The versions the single list recorded keep their times; the rest were applied now.
                        let carried = try await Self.rows(
                            """
                            SELECT m.module || ' ' || m.version FROM module_migrations m
                            JOIN schema_migrations s ON s.applied_at = m.applied_at AND s.name = m.name
                            ORDER BY m.module, m.version
                            """, store)
                        let expectedCarried = [("durable 1", 2), ("durable 2", 3), ("durable 3", 4), ("storage 1", 1)]
                            .filter { $0.1 <= lastVersion }.map(\.0)
                        #expect(carried == expectedCarried, "start \(attempt)")
                        #expect(try await store.session(id: session.id, organizationID: session.organizationID) == session)
                        let turns = try await Self.rows("SELECT id FROM durable_turns", store)
                        #expect(turns == (lastVersion >= 2 ? ["turn_old"] : []))
                    }
                }
            }
        }
    }

    @Test("a fresh database gets only the per-module tracks")
    func freshDatabase() async throws {
        try await PostgresPersistenceTests.withDatabase { url in
            let (tracks, legacy) = try await PostgresStore(url: url, maxConnections: 2, migrations: [.durable])
                .withRunning { store in
                    (try await Self.rows(Self.tracks, store),
                     try await Self.rows("SELECT coalesce(to_regclass('schema_migrations')::text, 'none')", store))
                }
            #expect(tracks == Self.allTracks)
            #expect(legacy == ["none"])
        }
    }
}
