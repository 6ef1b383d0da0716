import Logging
import PostgresNIO

/// One schema change: statements run in order, in one transaction, recorded in `schema_migrations`.
/// Never edit a migration that has shipped; append a new version instead.
struct PostgresMigration: Sendable {
    let version: Int
    let name: String
    let statements: [String]
}

enum PostgresMigrations {
    /// `pg_advisory_lock` key serialising migrations between instances booting together ("keel").
    static let lockKey: Int64 = 0x6B65_656C

    static let all: [PostgresMigration] = [
        PostgresMigration(
            version: 1, name: "agents, sessions, providers, append-only events",
            statements: [
                // Case folding for search, Unicode-aware where the server has ICU.
                """
                DO $do$
                BEGIN
                    IF EXISTS (SELECT 1 FROM pg_collation WHERE collname = 'und-x-icu') THEN
                        EXECUTE 'CREATE OR REPLACE FUNCTION keel_fold(t text) RETURNS text LANGUAGE sql IMMUTABLE '
                            'STRICT PARALLEL SAFE AS $f$ SELECT lower(t COLLATE "und-x-icu") $f$';
                    ELSE
                        EXECUTE 'CREATE OR REPLACE FUNCTION keel_fold(t text) RETURNS text LANGUAGE sql IMMUTABLE '
                            'STRICT PARALLEL SAFE AS $f$ SELECT lower(t) $f$';
                    END IF;
                END
                $do$
                """,
                """
                CREATE TABLE agents (
                    id text COLLATE "C" PRIMARY KEY,
                    organization_id text COLLATE "C" NOT NULL,
                    name text NOT NULL,
                    display_name text,
                    status text NOT NULL,
                    created_at timestamptz NOT NULL,
                    doc jsonb NOT NULL
                )
                """,
                // Names are unique among the agents of an organization that are not deleted.
                """
                CREATE UNIQUE INDEX agents_live_name ON agents (organization_id, name) WHERE status <> 'deleted'
                """,
                "CREATE INDEX agents_list ON agents (organization_id, created_at DESC, id DESC)",
                """
                CREATE TABLE sessions (
                    id text COLLATE "C" PRIMARY KEY,
                    organization_id text COLLATE "C" NOT NULL,
                    agent_id text COLLATE "C",
                    title text,
                    created_at timestamptz NOT NULL,
                    doc jsonb NOT NULL
                )
                """,
                "CREATE INDEX sessions_list ON sessions (organization_id, created_at DESC, id DESC)",
                "CREATE INDEX sessions_by_agent ON sessions (organization_id, agent_id, created_at DESC, id DESC)",
                """
                CREATE TABLE providers (
                    id text COLLATE "C" PRIMARY KEY,
                    organization_id text COLLATE "C" NOT NULL,
                    created_at timestamptz NOT NULL,
                    doc jsonb NOT NULL
                )
                """,
                "CREATE INDEX providers_list ON providers (organization_id, created_at, id)",
                // The last sequence handed out per session; the upsert on it serialises appends.
                """
                CREATE TABLE event_sequences (
                    session_id text COLLATE "C" PRIMARY KEY REFERENCES sessions (id) ON DELETE CASCADE,
                    last_sequence bigint NOT NULL
                )
                """,
                """
                CREATE TABLE events (
                    id text COLLATE "C" PRIMARY KEY,
                    session_id text COLLATE "C" NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
                    sequence bigint NOT NULL CHECK (sequence > 0),
                    type text COLLATE "C" NOT NULL,
                    ts timestamptz NOT NULL,
                    context jsonb NOT NULL,
                    data jsonb NOT NULL,
                    metadata jsonb,
                    tags text[],
                    created_at timestamptz NOT NULL DEFAULT now(),
                    CONSTRAINT events_session_sequence UNIQUE (session_id, sequence)
                )
                """,
                "CREATE INDEX events_by_type ON events (session_id, type, sequence)",
                // Append-only: no UPDATE ever; DELETE only as the cascade of deleting the session.
                """
                CREATE FUNCTION keel_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $f$
                BEGIN
                    IF TG_OP = 'DELETE' AND NOT EXISTS (SELECT 1 FROM sessions WHERE id = OLD.session_id) THEN
                        RETURN OLD;
                    END IF;
                    RAISE EXCEPTION 'events are append-only: % of event % refused', TG_OP, OLD.id
                        USING ERRCODE = 'integrity_constraint_violation';
                END
                $f$
                """,
                """
                CREATE TRIGGER events_append_only BEFORE UPDATE OR DELETE ON events
                    FOR EACH ROW EXECUTE FUNCTION keel_events_append_only()
                """,
                // Every committed append wakes the SSE readers of every instance (payload: session id).
                """
                CREATE FUNCTION keel_events_notify() RETURNS trigger LANGUAGE plpgsql AS $f$
                BEGIN
                    PERFORM pg_notify('keel_events', NEW.session_id);
                    RETURN NULL;
                END
                $f$
                """,
                """
                CREATE TRIGGER events_notify AFTER INSERT ON events
                    FOR EACH ROW EXECUTE FUNCTION keel_events_notify()
                """,
            ]),
        PostgresMigration(
            version: 2, name: "durable turns: step task queue, tool-result checkpoints, dead letters",
            statements: [
                // One row per user message: queued until the session's previous turn ends, then running.
                """
                CREATE TABLE durable_turns (
                    id text COLLATE "C" PRIMARY KEY,
                    session_id text COLLATE "C" NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
                    input_message_id text COLLATE "C" NOT NULL,
                    input_sequence bigint NOT NULL,
                    input jsonb NOT NULL,
                    status text NOT NULL
                        CHECK (status IN ('queued', 'running', 'completed', 'failed', 'cancelled')),
                    spec jsonb,
                    progress jsonb,
                    reclaims_without_progress integer NOT NULL DEFAULT 0,
                    created_at timestamptz NOT NULL DEFAULT now(),
                    started_at timestamptz,
                    ended_at timestamptz
                )
                """,
                "CREATE INDEX durable_turns_by_session ON durable_turns (session_id, status, input_sequence)",
                // One row per step attempt chain (reason, act), claimed with FOR UPDATE SKIP LOCKED.
                """
                CREATE TABLE durable_tasks (
                    id text COLLATE "C" PRIMARY KEY,
                    turn_id text COLLATE "C" NOT NULL REFERENCES durable_turns (id) ON DELETE CASCADE,
                    session_id text COLLATE "C" NOT NULL,
                    kind text NOT NULL,
                    step jsonb NOT NULL,
                    progress jsonb NOT NULL,
                    status text NOT NULL
                        CHECK (status IN ('pending', 'claimed', 'completed', 'dead', 'cancelled')),
                    attempt integer NOT NULL DEFAULT 0,
                    max_attempts integer NOT NULL,
                    visible_at timestamptz NOT NULL DEFAULT now(),
                    claimed_by text,
                    claimed_at timestamptz,
                    heartbeat_at timestamptz,
                    last_error text,
                    created_at timestamptz NOT NULL DEFAULT clock_timestamp(),
                    completed_at timestamptz
                )
                """,
                "CREATE INDEX durable_tasks_ready ON durable_tasks (visible_at, created_at) WHERE status = 'pending'",
                "CREATE INDEX durable_tasks_claimed ON durable_tasks (heartbeat_at) WHERE status = 'claimed'",
                "CREATE INDEX durable_tasks_by_turn ON durable_tasks (turn_id)",
                // A tool's result is recorded once; a retried act step reuses it instead of running the tool.
                """
                CREATE TABLE durable_tool_results (
                    turn_id text COLLATE "C" NOT NULL REFERENCES durable_turns (id) ON DELETE CASCADE,
                    tool_call_id text COLLATE "C" NOT NULL,
                    task_id text COLLATE "C" NOT NULL,
                    data jsonb NOT NULL,
                    recorded_at timestamptz NOT NULL DEFAULT now(),
                    PRIMARY KEY (turn_id, tool_call_id)
                )
                """,
                """
                CREATE TABLE durable_dead_letters (
                    task_id text COLLATE "C" PRIMARY KEY,
                    turn_id text COLLATE "C" NOT NULL,
                    session_id text COLLATE "C" NOT NULL,
                    kind text NOT NULL,
                    attempts integer NOT NULL,
                    reason text NOT NULL,
                    last_error text,
                    dead_at timestamptz NOT NULL DEFAULT now()
                )
                """,
            ]),
        PostgresMigration(
            version: 3, name: "session files",
            statements: [
                // The session_file_system capability's files (KeelDurable's PostgresSessionFileSystem):
                // paths are normalised absolute paths under /workspace; directories are implicit.
                // "C" collation: byte order, so a directory's files are one key range of the primary key.
                """
                CREATE TABLE session_files (
                    session_id text COLLATE "C" NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
                    path text COLLATE "C" NOT NULL,
                    content text NOT NULL,
                    size integer NOT NULL,
                    modified_at timestamptz NOT NULL,
                    PRIMARY KEY (session_id, path)
                )
                """,
            ]),
        PostgresMigration(
            version: 4, name: "lease epoch",
            statements: [
                // Counts the leases ever granted on a task; a claim takes the next one and names it in
                // claimed_by, so a lease is never granted twice. (`attempt` cannot serve: a release
                // hands the attempt back, and the next claim would re-issue the released lease.)
                "ALTER TABLE durable_tasks ADD COLUMN lease_epoch bigint NOT NULL DEFAULT 0",
                // Rows claimed before this migration named their attempt; start past it.
                "UPDATE durable_tasks SET lease_epoch = attempt",
            ]),
    ]

    /// Applies the migrations not yet recorded, under the advisory lock. Idempotent; safe when
    /// several instances start together (the others wait for the lock, then find nothing to do).
    /// Returns the versions applied by this call.
    @discardableResult
    static func apply(
        _ migrations: [PostgresMigration] = all, on connection: PostgresConnection, logger: Logger
    ) async throws -> [Int] {
        try await connection.query("SELECT pg_advisory_lock(\(lockKey))", logger: logger)
        do {
            let applied = try await applyLocked(migrations, on: connection, logger: logger)
            try await connection.query("SELECT pg_advisory_unlock(\(lockKey))", logger: logger)
            return applied
        } catch {
            _ = try? await connection.query("SELECT pg_advisory_unlock(\(lockKey))", logger: logger)
            throw error
        }
    }

    private static func applyLocked(
        _ migrations: [PostgresMigration], on connection: PostgresConnection, logger: Logger
    ) async throws -> [Int] {
        try await connection.query(
            """
            CREATE TABLE IF NOT EXISTS schema_migrations (
                version integer PRIMARY KEY,
                name text NOT NULL,
                applied_at timestamptz NOT NULL DEFAULT now()
            )
            """, logger: logger)
        var done = Set<Int>()
        for try await version in try await connection.query("SELECT version FROM schema_migrations", logger: logger)
            .decode(Int.self)
        {
            done.insert(version)
        }
        if let newest = done.max(), let known = migrations.map(\.version).max(), newest > known {
            logger.warning(
                "database schema is newer than this build",
                metadata: ["schema_version": "\(newest)", "known_version": "\(known)"])
        }
        var applied: [Int] = []
        for migration in migrations.sorted(by: { $0.version < $1.version }) where !done.contains(migration.version) {
            do {
                try await connection.query("BEGIN", logger: logger)
                do {
                    for statement in migration.statements {
                        try await connection.query(PostgresQuery(unsafeSQL: statement), logger: logger)
                    }
                    try await connection.query(
                        "INSERT INTO schema_migrations (version, name) VALUES (\(migration.version), \(migration.name))",
                        logger: logger)
                    try await connection.query("COMMIT", logger: logger)
                } catch {
                    _ = try? await connection.query("ROLLBACK", logger: logger)
                    throw error
                }
            } catch {
                throw PostgresStoreError.migrationFailed(
                    version: migration.version, name: migration.name, reason: PostgresStore.describe(error))
            }
            logger.info(
                "applied database migration", metadata: ["version": "\(migration.version)", "name": "\(migration.name)"])
            applied.append(migration.version)
        }
        return applied
    }
}
