import Logging
import PostgresNIO

/// Applies migration sets, each on its own track in `module_migrations` (module, version).
enum PostgresMigrations {
    /// `pg_advisory_lock` key serialising migrations between instances booting together ("keel").
    static let lockKey: Int64 = 0x6B65_656C

    /// Applies the migrations not yet recorded, set by set in the order given, under the advisory
    /// lock. Idempotent; safe when several instances start together (the others wait for the lock,
    /// then find nothing to do). Returns the (module, version) pairs applied by this call.
    @discardableResult
    static func apply(_ sets: [PostgresMigrationSet], on connection: PostgresConnection, logger: Logger) async throws
        -> [AppliedMigration]
    {
        try await connection.query("SELECT pg_advisory_lock(\(lockKey))", logger: logger)
        do {
            let applied = try await applyLocked(sets, on: connection, logger: logger)
            try await connection.query("SELECT pg_advisory_unlock(\(lockKey))", logger: logger)
            return applied
        } catch {
            _ = try? await connection.query("SELECT pg_advisory_unlock(\(lockKey))", logger: logger)
            throw error
        }
    }

    struct AppliedMigration: Hashable, Sendable {
        let module: String
        let version: Int
    }

    private static func applyLocked(_ sets: [PostgresMigrationSet], on connection: PostgresConnection, logger: Logger)
        async throws -> [AppliedMigration]
    {
        try await connection.query(
            """
            CREATE TABLE IF NOT EXISTS module_migrations (
                module text COLLATE "C" NOT NULL,
                version integer NOT NULL,
                name text NOT NULL,
                applied_at timestamptz NOT NULL DEFAULT now(),
                PRIMARY KEY (module, version)
            )
            """, logger: logger)
        try await importLegacyVersions(sets, on: connection, logger: logger)
        var done = Set<AppliedMigration>()
        for try await (module, version) in try await connection.query(
            "SELECT module, version FROM module_migrations", logger: logger
        ).decode((String, Int).self) {
            done.insert(AppliedMigration(module: module, version: version))
        }
        var applied: [AppliedMigration] = []
        var seen = Set<String>()
        for set in sets where seen.insert(set.module).inserted {
            warnIfNewer(set, done: done, logger: logger)
            for migration in set.migrations.sorted(by: { $0.version < $1.version }) {
                let key = AppliedMigration(module: set.module, version: migration.version)
                guard !done.contains(key) else { continue }
                try await apply(migration, of: set.module, on: connection, logger: logger)
                applied.append(key)
            }
        }
        return applied
    }

    /// Carries the versions that releases before per-module tracks recorded in the single
    /// `schema_migrations` list over to the tracks of the sets given (`legacyVersion`), keeping
    /// their names and times. That table is left as it is.
    private static func importLegacyVersions(
        _ sets: [PostgresMigrationSet], on connection: PostgresConnection, logger: Logger
    ) async throws {
        let exists = try await connection.query(
            "SELECT to_regclass('schema_migrations') IS NOT NULL", logger: logger
        ).collect().first?.decode(Bool.self) ?? false
        guard exists else { return }
        for set in sets {
            for migration in set.migrations {
                guard let legacy = migration.legacyVersion else { continue }
                try await connection.query(
                    """
                    INSERT INTO module_migrations (module, version, name, applied_at)
                    SELECT \(set.module), \(migration.version), name, applied_at FROM schema_migrations
                    WHERE version = \(legacy)
                    ON CONFLICT (module, version) DO NOTHING
                    """, logger: logger)
            }
        }
    }

    private static func warnIfNewer(_ set: PostgresMigrationSet, done: Set<AppliedMigration>, logger: Logger) {
        let recorded = done.filter { $0.module == set.module }.map(\.version).max()
        if let recorded, let known = set.migrations.map(\.version).max(), recorded > known {
            logger.warning(
                "database schema is newer than this build",
                metadata: ["module": "\(set.module)", "schema_version": "\(recorded)", "known_version": "\(known)"])
        }
    }

    /// One migration in one transaction, recorded in the same transaction.
    private static func apply(
        _ migration: PostgresMigration, of module: String, on connection: PostgresConnection, logger: Logger
    ) async throws {
        do {
            try await connection.query("BEGIN", logger: logger)
            do {
                for statement in migration.statements {
                    try await connection.query(PostgresQuery(unsafeSQL: statement), logger: logger)
                }
                try await connection.query(
                    """
                    INSERT INTO module_migrations (module, version, name)
                    VALUES (\(module), \(migration.version), \(migration.name))
                    """, logger: logger)
                try await connection.query("COMMIT", logger: logger)
            } catch {
                _ = try? await connection.query("ROLLBACK", logger: logger)
                throw error
            }
        } catch {
            throw PostgresStoreError.migrationFailed(
                module: module, version: migration.version, name: migration.name,
                reason: PostgresStore.describe(error))
        }
        logger.info(
            "applied database migration",
            metadata: ["module": "\(module)", "version": "\(migration.version)", "name": "\(migration.name)"])
    }
}
