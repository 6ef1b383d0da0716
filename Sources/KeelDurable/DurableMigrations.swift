import KeelStorage

/// KeelDurable's tables: the durable turns and their step task queue, tool-result checkpoints, dead
/// letters, and the session files of `PostgresSessionFileSystem`. They reference KeelStorage's
/// `sessions`, so this set runs after `.storage`. Versions 1–3 were versions 2–4 of the single list
/// earlier releases kept (`legacyVersion`).
extension PostgresMigrationSet {
    public static let durable = PostgresMigrationSet(
        module: "durable",
        migrations: [
            PostgresMigration(
                version: 1, name: "durable turns: step task queue, tool-result checkpoints, dead letters",
                legacyVersion: 2,
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
                version: 2, name: "session files", legacyVersion: 3,
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
                version: 3, name: "lease epoch", legacyVersion: 4,
                statements: [
                    // Counts the leases ever granted on a task; a claim takes the next one and names it in
                    // claimed_by, so a lease is never granted twice. (`attempt` cannot serve: a release
                    // hands the attempt back, and the next claim would re-issue the released lease.)
                    "ALTER TABLE durable_tasks ADD COLUMN lease_epoch bigint NOT NULL DEFAULT 0",
                    // Rows claimed before this migration named their attempt; start past it.
                    "UPDATE durable_tasks SET lease_epoch = attempt",
                ]),
            PostgresMigration(
                version: 4, name: "client waits",
                statements: [
                    // A running turn waiting for client-side tool results: the act step to run
                    // again and the calls still pending (TurnWait), and the deadline the sweep reads.
                    "ALTER TABLE durable_turns ADD COLUMN wait jsonb, ADD COLUMN wait_deadline timestamptz",
                    "CREATE INDEX durable_turns_waiting ON durable_turns (wait_deadline) WHERE wait_deadline IS NOT NULL",
                ]),
            PostgresMigration(
                version: 5, name: "operations: workers, error history, requeues, operations log, circuit breakers",
                statements: [
                    // Each step executor's last report; `status` is what it or an operator said
                    // (a silent worker is shown as lost by the reader, not written).
                    """
                    CREATE TABLE durable_workers (
                        id text COLLATE "C" PRIMARY KEY,
                        address text NOT NULL,
                        version text NOT NULL,
                        grade text NOT NULL,
                        concurrency integer NOT NULL,
                        load integer NOT NULL,
                        status text NOT NULL CHECK (status IN ('active', 'draining', 'stopped')),
                        started_at timestamptz NOT NULL DEFAULT now(),
                        last_heartbeat_at timestamptz NOT NULL DEFAULT now()
                    )
                    """,
                    "ALTER TABLE durable_tasks ADD COLUMN error_history jsonb NOT NULL DEFAULT '[]'",
                    // Listings read newest first by id (UUIDv7: creation order), so an unfiltered page
                    // walks the primary key and a filtered one this index.
                    "CREATE INDEX durable_tasks_by_status ON durable_tasks (status, id)",
                    """
                    ALTER TABLE durable_dead_letters ADD COLUMN error_history jsonb NOT NULL DEFAULT '[]',
                        ADD COLUMN requeued_at timestamptz, ADD COLUMN requeue_count integer NOT NULL DEFAULT 0
                    """,
                    "CREATE INDEX durable_dead_letters_by_session ON durable_dead_letters (session_id)",
                    "CREATE INDEX durable_turns_by_status ON durable_turns (status, id)",
                    // What changed in the engine and who changed it; the monitoring stream's change
                    // events, resumed by id. Organization-less rows concern the platform.
                    """
                    CREATE TABLE durable_ops_events (
                        id bigserial PRIMARY KEY,
                        organization_id text COLLATE "C",
                        type text NOT NULL,
                        data jsonb NOT NULL,
                        at timestamptz NOT NULL DEFAULT now()
                    )
                    """,
                    // One row per provider and model that ever failed (`external:<provider>:<model>`).
                    """
                    CREATE TABLE durable_circuit_breakers (
                        key text COLLATE "C" PRIMARY KEY,
                        state jsonb NOT NULL,
                        updated_at timestamptz NOT NULL DEFAULT now()
                    )
                    """,
                ]),
        ])
}
