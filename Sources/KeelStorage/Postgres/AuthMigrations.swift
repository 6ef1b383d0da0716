/// The authentication tables: organizations, users, memberships, API keys and refresh tokens.
/// Memberships, keys and tokens go with their user (and organization): ON DELETE CASCADE.
extension PostgresMigrationSet {
    public static let auth = PostgresMigrationSet(
        module: "auth",
        migrations: [
            PostgresMigration(
                version: 1, name: "organizations, users, memberships, API keys, refresh tokens",
                statements: [
                    """
                    CREATE TABLE organizations (
                        id text COLLATE "C" PRIMARY KEY,
                        name text NOT NULL,
                        created_at timestamptz NOT NULL
                    )
                    """,
                    // Emails arrive lower-cased (the store folds them), so a plain unique index
                    // makes them unique regardless of case.
                    """
                    CREATE TABLE users (
                        id text COLLATE "C" PRIMARY KEY,
                        email text NOT NULL,
                        name text NOT NULL,
                        password_hash text,
                        auth_provider text COLLATE "C" NOT NULL,
                        auth_provider_id text COLLATE "C",
                        avatar_url text,
                        roles text[] NOT NULL DEFAULT '{}',
                        created_at timestamptz NOT NULL,
                        CONSTRAINT users_email_key UNIQUE (email)
                    )
                    """,
                    """
                    CREATE UNIQUE INDEX users_provider_identity ON users (auth_provider, auth_provider_id)
                        WHERE auth_provider_id IS NOT NULL
                    """,
                    """
                    CREATE TABLE memberships (
                        user_id text COLLATE "C" NOT NULL REFERENCES users (id) ON DELETE CASCADE,
                        organization_id text COLLATE "C" NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
                        role text NOT NULL CHECK (role IN ('owner', 'admin', 'member')),
                        created_at timestamptz NOT NULL,
                        PRIMARY KEY (user_id, organization_id)
                    )
                    """,
                    "CREATE INDEX memberships_by_organization ON memberships (organization_id, created_at, user_id)",
                    """
                    CREATE TABLE api_keys (
                        id text COLLATE "C" PRIMARY KEY,
                        user_id text COLLATE "C" NOT NULL REFERENCES users (id) ON DELETE CASCADE,
                        organization_id text COLLATE "C" NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
                        name text NOT NULL,
                        key_hash text COLLATE "C" NOT NULL,
                        key_prefix text NOT NULL,
                        scopes text[] NOT NULL DEFAULT '{}',
                        expires_at timestamptz,
                        last_used_at timestamptz,
                        created_at timestamptz NOT NULL,
                        CONSTRAINT api_keys_key_hash_key UNIQUE (key_hash)
                    )
                    """,
                    "CREATE INDEX api_keys_list ON api_keys (user_id, organization_id, created_at DESC, id DESC)",
                    """
                    CREATE TABLE refresh_tokens (
                        token_hash text COLLATE "C" PRIMARY KEY,
                        user_id text COLLATE "C" NOT NULL REFERENCES users (id) ON DELETE CASCADE,
                        expires_at timestamptz NOT NULL,
                        created_at timestamptz NOT NULL
                    )
                    """,
                    // The foreign key's cascade looks tokens up by user.
                    "CREATE INDEX refresh_tokens_by_user ON refresh_tokens (user_id)",
                ]),
        ])
}
