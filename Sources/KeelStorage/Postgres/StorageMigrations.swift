/// KeelStorage's tables: agents, sessions, providers and the append-only event log. Other modules'
/// tables (KeelDurable's step queue and session files) are in their own sets and may reference these.
extension PostgresMigrationSet {
    public static let storage = PostgresMigrationSet(
        module: "storage",
        migrations: [
            PostgresMigration(
                version: 1, name: "agents, sessions, providers, append-only events", legacyVersion: 1,
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
                version: 2, name: "Agent Protocol records (assistants, threads, runs)",
                statements: [
                    """
                    CREATE TABLE protocol_records (
                        organization_id text COLLATE "C" NOT NULL,
                        kind text COLLATE "C" NOT NULL,
                        id text COLLATE "C" NOT NULL,
                        session_id text COLLATE "C" REFERENCES sessions (id) ON DELETE CASCADE,
                        created_at timestamptz NOT NULL,
                        doc jsonb NOT NULL,
                        PRIMARY KEY (organization_id, kind, id)
                    )
                    """,
                    "CREATE INDEX protocol_records_session ON protocol_records (organization_id, kind, session_id)",
                    // Deleting a session finds its records through the foreign key, by session id alone.
                    "CREATE INDEX protocol_records_session_id ON protocol_records (session_id) WHERE session_id IS NOT NULL",
                ]),
            PostgresMigration(
                version: 3, name: "events: retention deletes",
                statements: [
                    // Still append-only, with one more way out: the retention sweep deletes expired
                    // events under its transaction-local `keel.retention` flag (EVENT_RETENTION_DAYS).
                    """
                    CREATE OR REPLACE FUNCTION keel_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $f$
                    BEGIN
                        IF TG_OP = 'DELETE' AND (
                            NOT EXISTS (SELECT 1 FROM sessions WHERE id = OLD.session_id)
                            OR current_setting('keel.retention', true) = 'on') THEN
                            RETURN OLD;
                        END IF;
                        RAISE EXCEPTION 'events are append-only: % of event % refused', TG_OP, OLD.id
                            USING ERRCODE = 'integrity_constraint_violation';
                    END
                    $f$
                    """,
                ]),
            PostgresMigration(
                version: 4, name: "events: the append notification names the sequence",
                statements: [
                    // `session_id:sequence`, so an instance that already announced an append (its
                    // own, in-process) is not woken again by the echo.
                    """
                    CREATE OR REPLACE FUNCTION keel_events_notify() RETURNS trigger LANGUAGE plpgsql AS $f$
                    BEGIN
                        PERFORM pg_notify('keel_events', NEW.session_id || ':' || NEW.sequence);
                        RETURN NULL;
                    END
                    $f$
                    """,
                ]),
        ])
}
