import Foundation
import KeelCore
import PostgresNIO

/// `AuthStore` on the tables of `PostgresMigrationSet.auth`: one row per user, organization,
/// membership, API key and refresh token, in plain columns. Timestamps are kept (and returned) at
/// millisecond precision. Unique violations become `StoreError.conflict` and references to a user
/// or organization that does not exist `StoreError.notFound`, worded as `InMemoryAuthStore` words them.
extension PostgresStore: AuthStore {
    // MARK: Users

    public func createAccount(_ user: UserAccount, organization: Organization, role: OrganizationRole) async throws {
        var user = user
        user.email = user.email.lowercased()
        try await transaction { connection in
            do {
                try await insertUser(user, on: connection)
                try await insertOrganization(organization, on: connection)
                try await connection.query(
                    """
                    INSERT INTO memberships (user_id, organization_id, role, created_at)
                    VALUES (\(user.id), \(organization.id), \(role.rawValue), \(MillisecondTimestamp(user.createdAt)))
                    """, logger: logger)
            } catch {
                throw Self.authError(error, user: user, organizationID: organization.id)
            }
        }
    }

    public func insertUser(_ user: UserAccount) async throws {
        var user = user
        user.email = user.email.lowercased()
        try await withPooledConnection { connection in
            do {
                try await insertUser(user, on: connection)
            } catch {
                throw Self.authError(error, user: user)
            }
        }
    }

    private func insertUser(_ user: UserAccount, on connection: PostgresConnection) async throws {
        try await connection.query(
            """
            INSERT INTO users (id, email, name, password_hash, auth_provider, auth_provider_id, avatar_url, roles,
                               created_at)
            VALUES (\(user.id), \(user.email), \(user.name), \(user.passwordHash), \(user.authProvider),
                    \(user.authProviderID), \(user.avatarURL), \(user.roles), \(MillisecondTimestamp(user.createdAt)))
            """, logger: logger)
    }

    public func user(id: String) async throws -> UserAccount? {
        try await users("SELECT \(unescaped: Self.userColumns) FROM users WHERE id = \(id)").first
    }

    public func user(email: String) async throws -> UserAccount? {
        try await users("SELECT \(unescaped: Self.userColumns) FROM users WHERE email = \(email.lowercased())").first
    }

    public func user(authProvider: String, authProviderID: String) async throws -> UserAccount? {
        try await users(
            """
            SELECT \(unescaped: Self.userColumns) FROM users
            WHERE auth_provider = \(authProvider) AND auth_provider_id = \(authProviderID)
            """
        ).first
    }

    public func updateUser(id: String, _ change: @Sendable (inout UserAccount) throws -> Void) async throws
        -> UserAccount
    {
        try await transaction { connection in
            let query: PostgresQuery = "SELECT \(unescaped: Self.userColumns) FROM users WHERE id = \(id) FOR UPDATE"
            guard var user = try await Self.users(query, on: connection, logger: logger).first else {
                throw StoreError.notFound(kind: "user", id: id)
            }
            try change(&user)
            user.id = id  // the id is the row's identity, not something a change can move
            user.email = user.email.lowercased()
            do {
                let updated = try await Self.users(
                    """
                    UPDATE users SET email = \(user.email), name = \(user.name), password_hash = \(user.passwordHash),
                        auth_provider = \(user.authProvider), auth_provider_id = \(user.authProviderID),
                        avatar_url = \(user.avatarURL), roles = \(user.roles),
                        created_at = \(MillisecondTimestamp(user.createdAt))
                    WHERE id = \(id)
                    RETURNING \(unescaped: Self.userColumns)
                    """, on: connection, logger: logger)
                guard let stored = updated.first else { throw StoreError.notFound(kind: "user", id: id) }
                return stored
            } catch {
                throw Self.authError(error, user: user)
            }
        }
    }

    private static let userColumns =
        "id, email, name, password_hash, auth_provider, auth_provider_id, avatar_url, roles, created_at"

    private func users(_ query: PostgresQuery) async throws -> [UserAccount] {
        try await withPooledConnection { try await Self.users(query, on: $0, logger: logger) }
    }

    private static func users(_ query: PostgresQuery, on connection: PostgresConnection, logger: Logger)
        async throws -> [UserAccount]
    {
        try await connection.query(query, logger: logger).collect().map { row in
            let (id, email, name, passwordHash, provider, providerID, avatarURL, roles, createdAt) = try row.decode(
                (String, String, String, String?, String, String?, String?, [String], MillisecondTimestamp).self)
            return UserAccount(
                id: id, email: email, name: name, passwordHash: passwordHash, authProvider: provider,
                authProviderID: providerID, avatarURL: avatarURL, roles: roles, createdAt: createdAt.date)
        }
    }

    // MARK: Organizations and memberships

    public func insertOrganization(_ organization: Organization) async throws {
        try await withPooledConnection { connection in
            do {
                try await insertOrganization(organization, on: connection)
            } catch {
                throw Self.authError(error, organizationID: organization.id)
            }
        }
    }

    private func insertOrganization(_ organization: Organization, on connection: PostgresConnection) async throws {
        try await connection.query(
            """
            INSERT INTO organizations (id, name, created_at)
            VALUES (\(organization.id), \(organization.name), \(MillisecondTimestamp(organization.createdAt)))
            """, logger: logger)
    }

    public func organization(id: String) async throws -> Organization? {
        try await withPooledConnection { connection in
            let rows = try await connection.query(
                "SELECT id, name, created_at FROM organizations WHERE id = \(id)", logger: logger
            ).collect()
            return try rows.first.map { row in
                let (id, name, createdAt) = try row.decode((String, String, MillisecondTimestamp).self)
                return Organization(id: id, name: name, createdAt: createdAt.date)
            }
        }
    }

    public func upsertMembership(_ membership: Membership) async throws {
        try await withPooledConnection { connection in
            do {
                // An existing membership keeps its join time: the oldest stays the default organization.
                try await connection.query(
                    """
                    INSERT INTO memberships (user_id, organization_id, role, created_at)
                    VALUES (\(membership.userID), \(membership.organizationID), \(membership.role.rawValue),
                            \(MillisecondTimestamp(membership.createdAt)))
                    ON CONFLICT (user_id, organization_id) DO UPDATE SET role = EXCLUDED.role
                    """, logger: logger)
            } catch {
                throw Self.authError(error, userID: membership.userID, organizationID: membership.organizationID)
            }
        }
    }

    public func removeMembership(userID: String, organizationID: String) async throws -> Bool {
        try await withPooledConnection { connection in
            try await !connection.query(
                """
                DELETE FROM memberships WHERE user_id = \(userID) AND organization_id = \(organizationID)
                RETURNING 1
                """, logger: logger
            ).collect().isEmpty
        }
    }

    public func memberships(userID: String) async throws -> [Membership] {
        try await memberships(
            """
            SELECT user_id, organization_id, role, created_at FROM memberships WHERE user_id = \(userID)
            ORDER BY created_at, organization_id
            """)
    }

    public func members(organizationID: String) async throws -> [Membership] {
        try await memberships(
            """
            SELECT user_id, organization_id, role, created_at FROM memberships WHERE organization_id = \(organizationID)
            ORDER BY created_at, user_id
            """)
    }

    private func memberships(_ query: PostgresQuery) async throws -> [Membership] {
        try await withPooledConnection { connection in
            try await connection.query(query, logger: logger).collect().map { row in
                let (userID, organizationID, role, createdAt) = try row.decode(
                    (String, String, String, MillisecondTimestamp).self)
                guard let role = OrganizationRole(rawValue: role) else {
                    throw PostgresStoreError.corruptRow("membership of \(userID) in \(organizationID): role '\(role)'")
                }
                return Membership(userID: userID, organizationID: organizationID, role: role, createdAt: createdAt.date)
            }
        }
    }

    // MARK: API keys

    public func insertAPIKey(_ key: APIKeyRecord) async throws {
        try await withPooledConnection { connection in
            do {
                try await connection.query(
                    """
                    INSERT INTO api_keys (id, user_id, organization_id, name, key_hash, key_prefix, scopes, expires_at,
                                          last_used_at, created_at)
                    VALUES (\(key.id), \(key.userID), \(key.organizationID), \(key.name), \(key.keyHash),
                            \(key.keyPrefix), \(key.scopes), \(key.expiresAt.map(MillisecondTimestamp.init)),
                            \(key.lastUsedAt.map(MillisecondTimestamp.init)), \(MillisecondTimestamp(key.createdAt)))
                    """, logger: logger)
            } catch {
                throw Self.authError(error, userID: key.userID, organizationID: key.organizationID, apiKeyID: key.id)
            }
        }
    }

    public func apiKey(hash: String) async throws -> APIKeyRecord? {
        try await apiKeys("SELECT \(unescaped: Self.apiKeyColumns) FROM api_keys WHERE key_hash = \(hash)").first
    }

    public func apiKeys(userID: String, organizationID: String) async throws -> [APIKeyRecord] {
        try await apiKeys(
            """
            SELECT \(unescaped: Self.apiKeyColumns) FROM api_keys
            WHERE user_id = \(userID) AND organization_id = \(organizationID)
            ORDER BY created_at DESC, id DESC
            """)
    }

    public func deleteAPIKey(id: String, userID: String) async throws -> Bool {
        try await withPooledConnection { connection in
            try await !connection.query(
                "DELETE FROM api_keys WHERE id = \(id) AND user_id = \(userID) RETURNING 1", logger: logger
            ).collect().isEmpty
        }
    }

    /// A key that is gone meanwhile is no error: its use was real, there is just nothing to record it on.
    public func recordAPIKeyUse(id: String, at date: Date) async throws {
        try await withPooledConnection { connection in
            // GREATEST ignores NULL; it keeps the latest use when concurrent requests record out of order.
            _ = try await connection.query(
                """
                UPDATE api_keys SET last_used_at = GREATEST(last_used_at, \(MillisecondTimestamp(date)))
                WHERE id = \(id)
                """, logger: logger)
        }
    }

    private static let apiKeyColumns =
        "id, user_id, organization_id, name, key_hash, key_prefix, scopes, expires_at, last_used_at, created_at"

    private func apiKeys(_ query: PostgresQuery) async throws -> [APIKeyRecord] {
        try await withPooledConnection { connection in
            try await connection.query(query, logger: logger).collect().map { row in
                let (id, userID, organizationID, name, keyHash, keyPrefix, scopes, expiresAt, lastUsedAt, createdAt) =
                    try row.decode(
                        (String, String, String, String, String, String, [String], MillisecondTimestamp?,
                         MillisecondTimestamp?, MillisecondTimestamp).self)
                return APIKeyRecord(
                    id: id, userID: userID, organizationID: organizationID, name: name, keyHash: keyHash,
                    keyPrefix: keyPrefix, scopes: scopes, expiresAt: expiresAt?.date, lastUsedAt: lastUsedAt?.date,
                    createdAt: createdAt.date)
            }
        }
    }

    // MARK: Refresh tokens

    public func insertRefreshToken(_ token: RefreshTokenRecord) async throws {
        try await withPooledConnection { connection in
            do {
                try await connection.query(
                    """
                    INSERT INTO refresh_tokens (token_hash, user_id, expires_at, created_at)
                    VALUES (\(token.tokenHash), \(token.userID), \(MillisecondTimestamp(token.expiresAt)),
                            \(MillisecondTimestamp(token.createdAt)))
                    """, logger: logger)
            } catch {
                throw Self.authError(error, userID: token.userID)
            }
        }
    }

    /// One statement, so two concurrent refreshes with the same token cannot both get it. An expired
    /// token is deleted too, and reported as absent.
    public func takeRefreshToken(hash: String) async throws -> RefreshTokenRecord? {
        try await withPooledConnection { connection in
            let rows = try await connection.query(
                """
                DELETE FROM refresh_tokens WHERE token_hash = \(hash)
                RETURNING token_hash, user_id, expires_at, created_at, expires_at > now()
                """, logger: logger
            ).collect()
            guard let row = rows.first else { return nil }
            let (tokenHash, userID, expiresAt, createdAt, live) = try row.decode(
                (String, String, MillisecondTimestamp, MillisecondTimestamp, Bool).self)
            guard live else { return nil }
            return RefreshTokenRecord(
                tokenHash: tokenHash, userID: userID, expiresAt: expiresAt.date, createdAt: createdAt.date)
        }
    }

    // MARK: Constraint violations

    /// The `StoreError` a violated constraint of the auth tables means (the same wording as
    /// `InMemoryAuthStore`), or `error` unchanged.
    private static func authError(
        _ error: any Error, user: UserAccount? = nil, userID: String? = nil, organizationID: String? = nil,
        apiKeyID: String? = nil
    ) -> any Error {
        guard let info = (error as? PSQLError)?.serverInfo, let constraint = info[.constraintName] else { return error }
        let userID = userID ?? user?.id ?? "?"
        switch (info[.sqlState], constraint) {
        case ("23505", "users_pkey"): return AuthConflict.userID(userID)
        case ("23505", "users_email_key"): return AuthConflict.email(user?.email ?? "?")
        case ("23505", "users_provider_identity"): return AuthConflict.providerIdentity(user?.authProvider ?? "?")
        case ("23505", "organizations_pkey"): return AuthConflict.organization(organizationID ?? "?")
        case ("23505", "api_keys_pkey"): return AuthConflict.apiKeyID(apiKeyID ?? "?")
        case ("23505", "api_keys_key_hash_key"): return AuthConflict.apiKeyHash
        case ("23505", "refresh_tokens_pkey"): return AuthConflict.refreshToken
        case ("23503", let name) where name.hasSuffix("_user_id_fkey"):
            return StoreError.notFound(kind: "user", id: userID)
        case ("23503", let name) where name.hasSuffix("_organization_id_fkey"):
            return StoreError.notFound(kind: "organization", id: organizationID ?? "?")
        default: return error
        }
    }
}
