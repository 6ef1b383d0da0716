import Foundation
import KeelCore
import KeelStorage
import PostgresNIO
import Testing

/// The migration seam: other modules contribute named sets, each on its own version track, applied
/// after storage's own under the advisory lock.
@Suite("PostgreSQL migration sets", .timeLimit(.minutes(2)))
struct PostgresMigrationSetTests {
    /// A module's table that references storage's `sessions` (so it needs storage's set first).
    static func widgets(through version: Int) -> PostgresMigrationSet {
        let all = [
            PostgresMigration(
                version: 1, name: "widgets",
                statements: [
                    """
                    CREATE TABLE widgets (
                        session_id text COLLATE "C" NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
                        name text NOT NULL
                    )
                    """
                ]),
            PostgresMigration(version: 2, name: "widget size", statements: ["ALTER TABLE widgets ADD COLUMN size integer"]),
            PostgresMigration(version: 3, name: "widget colour", statements: ["ALTER TABLE widgets ADD COLUMN colour text"]),
        ]
        return PostgresMigrationSet(module: "widgets", migrations: Array(all.prefix(version)))
    }

    static func tracks(_ store: PostgresStore) async throws -> [String] {
        var rows: [String] = []
        let query: PostgresQuery = "SELECT module, version FROM module_migrations ORDER BY module, version"
        for try await (module, version) in try await store.client.query(query).decode((String, Int).self) {
            rows.append("\(module) \(version)")
        }
        return rows
    }

    static func columns(_ table: String, _ store: PostgresStore) async throws -> [String] {
        var names: [String] = []
        let query: PostgresQuery =
            "SELECT column_name FROM information_schema.columns WHERE table_name = \(table) ORDER BY ordinal_position"
        for try await name in try await store.client.query(query).decode(String.self) { names.append(name) }
        return names
    }

    @Test("a module's set runs after storage's on a track of its own; a restart applies only what is new")
    func tracks() async throws {
        try await TestDatabase.withDatabase { configuration in
            let session = Session(now: day(0))
            try await PostgresStore(configuration: configuration, migrations: [Self.widgets(through: 2)]).withRunning {
                store in
                #expect(try await Self.tracks(store) == ["auth 1", "storage 1", "storage 2", "storage 3", "storage 4", "widgets 1", "widgets 2"])
                #expect(try await Self.columns("widgets", store) == ["session_id", "name", "size"])
                try await store.insertSession(session)
                try await store.client.query("INSERT INTO widgets (session_id, name) VALUES (\(session.id), 'w')")
            }
            try await PostgresStore(configuration: configuration, migrations: [Self.widgets(through: 3)]).withRunning {
                store in
                #expect(try await Self.tracks(store) == ["auth 1", "storage 1", "storage 2", "storage 3", "storage 4", "widgets 1", "widgets 2", "widgets 3"])
                #expect(try await Self.columns("widgets", store) == ["session_id", "name", "size", "colour"])
                var count = 0
                for try await value in try await store.client.query("SELECT count(*)::int FROM widgets").decode(Int.self) {
                    count = value
                }
                #expect(count == 1, "the rows written before the new migration are kept")
            }
            // A store not given the set (another tool on the same database) leaves its track alone.
            let untouched = try await PostgresStore(configuration: configuration).withRunning { try await Self.tracks($0) }
            #expect(untouched == ["auth 1", "storage 1", "storage 2", "storage 3", "storage 4", "widgets 1", "widgets 2", "widgets 3"])
        }
    }

    @Test("a failing migration is rolled back, names its module and version, and keeps the earlier ones")
    func failure() async throws {
        try await TestDatabase.withDatabase { configuration in
            let broken = PostgresMigrationSet(
                module: "widgets",
                migrations: Self.widgets(through: 1).migrations + [
                    PostgresMigration(
                        version: 2, name: "half done",
                        statements: ["CREATE TABLE gadgets (id text)", "ALTER TABLE no_such_table ADD COLUMN x text"])
                ])
            var logger = TestDatabase.logger
            logger.logLevel = .critical
            let store = try PostgresStore(configuration: configuration, migrations: [broken], logger: logger)
            do {
                try await store.withRunning { _ in }
                Issue.record("the broken migration did not fail the store")
            } catch let PostgresStoreError.migrationFailed(module, version, name, reason) {
                #expect(module == "widgets" && version == 2 && name == "half done")
                #expect(reason.contains("42P01"), "the SQLSTATE of the missing table: \(reason)")
            }
            let (tracks, gadgets) = try await PostgresStore(configuration: configuration).withRunning { store in
                (try await Self.tracks(store), try await Self.columns("gadgets", store))
            }
            #expect(tracks == ["auth 1", "storage 1", "storage 2", "storage 3", "storage 4", "widgets 1"])
            #expect(gadgets.isEmpty, "the failed migration left nothing behind")
        }
    }
}
