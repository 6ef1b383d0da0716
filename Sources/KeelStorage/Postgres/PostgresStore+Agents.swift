import Foundation
import KeelCore
import PostgresNIO

/// Agents: JSONB documents; names unique among an organization's live agents. Every statement on
/// one agent names its organization, so another organization's agent is never read or written.
extension PostgresStore {
    public func insertAgent(_ agent: Agent) async throws {
        let (json, stored) = try Self.normalise(agent)
        try await transaction { connection in
            do {
                let inserted = try await connection.query(
                    """
                    INSERT INTO agents (id, organization_id, name, display_name, status, created_at, doc)
                    VALUES (\(stored.id), \(stored.organizationID), \(stored.name), \(stored.displayName),
                            \(stored.status.rawValue), \(stored.createdAt), \(json)::jsonb)
                    ON CONFLICT (id) DO NOTHING
                    RETURNING 1
                    """, logger: logger
                ).collect()
                guard !inserted.isEmpty else { throw StoreError.conflict("agent \(stored.id) already exists") }
            } catch where Self.sqlState(error) == "23505" {
                throw Self.agentConflict(error, stored)
            }
            // The unique index covers live agents; a deleted one may still not take a live agent's name.
            if stored.status == .deleted, try await liveAgentNameTaken(stored, on: connection) {
                throw StoreError.conflict("an agent named '\(stored.name)' already exists")
            }
        }
    }

    public func agent(id: String, organizationID: String) async throws -> Agent? {
        try await withPooledConnection { try await agent(id: id, organizationID: organizationID, on: $0) }
    }

    /// An agent read on `connection` (inside the caller's transaction).
    package func agent(id: String, organizationID: String, on connection: PostgresConnection) async throws -> Agent? {
        try await Self.document(
            Agent.self,
            """
            SELECT doc::text FROM agents
            WHERE id = \(id) AND organization_id = \(organizationID) AND status <> 'deleted'
            """, on: connection, logger: logger)
    }

    public func agent(named name: String, organizationID: String) async throws -> Agent? {
        try await document(
            Agent.self,
            """
            SELECT doc::text FROM agents
            WHERE organization_id = \(organizationID) AND name = \(name) AND status <> 'deleted'
            LIMIT 1
            """)
    }

    public func listAgents(organizationID: String, includeArchived: Bool, search: String?, offset: Int, limit: Int)
        async throws -> Page<Agent>
    {
        let search = search.flatMap { $0.isEmpty ? nil : $0 }
        return try await page(
            Agent.self,
            """
            WITH m AS (
                SELECT doc, created_at, id FROM agents
                WHERE organization_id = \(organizationID) AND status <> 'deleted'
                  AND (\(includeArchived) OR status = 'active')
                  AND (\(search)::text IS NULL
                       OR strpos(keel_fold(name), keel_fold(\(search)::text)) > 0
                       OR strpos(keel_fold(display_name), keel_fold(\(search)::text)) > 0)
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

    public func updateAgent(id: String, organizationID: String, _ change: @Sendable (inout Agent) throws -> Void)
        async throws -> Agent
    {
        try await transaction { connection in
            guard
                var agent = try await Self.document(
                    Agent.self,
                    """
                    SELECT doc::text FROM agents
                    WHERE id = \(id) AND organization_id = \(organizationID) AND status <> 'deleted'
                    FOR UPDATE
                    """,
                    on: connection, logger: logger)
            else { throw StoreError.notFound(kind: "agent", id: id) }
            try change(&agent)
            agent.organizationID = organizationID
            agent.updatedAt = Date()
            let (json, stored) = try Self.normalise(agent)
            if try await liveAgentNameTaken(stored, excluding: id, on: connection) {
                throw StoreError.conflict("an agent named '\(stored.name)' already exists")
            }
            do {
                try await connection.query(
                    """
                    UPDATE agents SET name = \(stored.name),
                        display_name = \(stored.displayName), status = \(stored.status.rawValue),
                        created_at = \(stored.createdAt), doc = \(json)::jsonb
                    WHERE id = \(id) AND organization_id = \(organizationID)
                    """, logger: logger)
            } catch where Self.sqlState(error) == "23505" {
                throw Self.agentConflict(error, stored)
            }
            return stored
        }
    }

    private func liveAgentNameTaken(_ agent: Agent, excluding id: String? = nil, on connection: PostgresConnection)
        async throws -> Bool
    {
        let excluded = id ?? agent.id
        return try await !connection.query(
            """
            SELECT 1 FROM agents
            WHERE organization_id = \(agent.organizationID) AND name = \(agent.name) AND status <> 'deleted'
              AND id <> \(excluded)
            LIMIT 1
            """, logger: logger
        ).collect().isEmpty
    }

    private static func agentConflict(_ error: any Error, _ agent: Agent) -> StoreError {
        if (error as? PSQLError)?.serverInfo?[.constraintName] == "agents_pkey" {
            return .conflict("agent \(agent.id) already exists")
        }
        return .conflict("an agent named '\(agent.name)' already exists")
    }
}
