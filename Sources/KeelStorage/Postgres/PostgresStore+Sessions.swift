import Foundation
import KeelCore
import PostgresNIO

/// Sessions: JSONB documents; deleting one deletes its events (the only way they are ever deleted).
/// Every statement on one session names its organization.
extension PostgresStore {
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

    public func session(id: String, organizationID: String) async throws -> Session? {
        try await document(
            Session.self, "SELECT doc::text FROM sessions WHERE id = \(id) AND organization_id = \(organizationID)")
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

    public func updateSession(id: String, organizationID: String, _ change: @Sendable (inout Session) throws -> Void)
        async throws -> Session
    {
        try await transaction { try await updateSession(id: id, organizationID: organizationID, on: $0, change) }
    }

    /// Updates a session on `connection`, inside the caller's transaction (the row stays locked).
    package func updateSession(
        id: String, organizationID: String, on connection: PostgresConnection,
        _ change: @Sendable (inout Session) throws -> Void
    ) async throws -> Session {
        guard let document = try await lockedSessionDocument(id: id, organizationID: organizationID, on: connection)
        else { throw StoreError.notFound(kind: "session", id: id) }
        return try await updateSession(document: document, id: id, organizationID: organizationID, on: connection, change)
    }

    /// Locks the session's row for the caller's transaction (`NO KEY UPDATE`, which leaves the
    /// key-share locks of concurrent event appends free) and returns its document, nil when it is
    /// not in the organization.
    package func lockedSessionDocument(
        id: String, organizationID: String, on connection: PostgresConnection
    ) async throws -> String? {
        let rows = try await connection.query(
            """
            SELECT doc::text FROM sessions WHERE id = \(id) AND organization_id = \(organizationID)
            FOR NO KEY UPDATE
            """, logger: logger
        ).collect()
        return try rows.first?.decode(String.self)
    }

    /// Writes `change` applied to `document`, the row's current document read under the lock the
    /// caller's transaction holds (so nothing else changed it since).
    package func updateSession(
        document: String, id: String, organizationID: String, on connection: PostgresConnection,
        _ change: @Sendable (inout Session) throws -> Void
    ) async throws -> Session {
        var session = try Self.decode(Session.self, document)
        try change(&session)
        session.organizationID = organizationID
        session.updatedAt = Date()
        let (json, stored) = try Self.normalise(session)
        try await connection.query(
            """
            UPDATE sessions SET agent_id = \(stored.agentID),
                title = \(stored.title), created_at = \(stored.createdAt), doc = \(json)::jsonb
            WHERE id = \(id) AND organization_id = \(organizationID)
            """, logger: logger)
        return stored
    }

    /// Deletes the session with its events (the only way events are ever deleted) and wakes its
    /// readers here and, through NOTIFY, on the other instances.
    public func deleteSession(id: String, organizationID: String) async throws {
        try await transaction { connection in
            let deleted = try await connection.query(
                "DELETE FROM sessions WHERE id = \(id) AND organization_id = \(organizationID) RETURNING 1",
                logger: logger
            ).collect()
            guard !deleted.isEmpty else { throw StoreError.notFound(kind: "session", id: id) }
            try await connection.query("SELECT pg_notify(\(Self.eventChannel), \(id))", logger: logger)
        }
        eventSignals.notify(sessionID: id)
    }
}
