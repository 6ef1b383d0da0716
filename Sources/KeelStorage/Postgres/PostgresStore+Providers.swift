import Foundation
import KeelCore
import PostgresNIO

/// LLM providers: JSONB documents, listed oldest first. Every statement on one provider names its
/// organization.
extension PostgresStore {
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

    public func provider(id: String, organizationID: String) async throws -> LLMProvider? {
        try await document(
            LLMProvider.self,
            "SELECT doc::text FROM providers WHERE id = \(id) AND organization_id = \(organizationID)")
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

    public func updateProvider(
        id: String, organizationID: String, _ change: @Sendable (inout LLMProvider) throws -> Void
    ) async throws -> LLMProvider {
        try await transaction { connection in
            guard
                var provider = try await Self.document(
                    LLMProvider.self,
                    """
                    SELECT doc::text FROM providers WHERE id = \(id) AND organization_id = \(organizationID)
                    FOR UPDATE
                    """,
                    on: connection, logger: logger)
            else { throw StoreError.notFound(kind: "provider", id: id) }
            try change(&provider)
            provider.organizationID = organizationID
            provider.updatedAt = Date()
            let (json, stored) = try Self.normalise(provider)
            try await connection.query(
                """
                UPDATE providers SET created_at = \(stored.createdAt), doc = \(json)::jsonb
                WHERE id = \(id) AND organization_id = \(organizationID)
                """, logger: logger)
            return stored
        }
    }

    public func deleteProvider(id: String, organizationID: String) async throws {
        try await schemaReady.wait()
        let deleted = try await client.query(
            "DELETE FROM providers WHERE id = \(id) AND organization_id = \(organizationID) RETURNING 1", logger: logger
        ).collect()
        guard !deleted.isEmpty else { throw StoreError.notFound(kind: "provider", id: id) }
    }
}
