import Foundation
import KeelCore
import PostgresNIO

/// Agent Protocol records: JSONB documents keyed by (organization, kind, id); a thread's and a
/// run's go with their session (`ON DELETE CASCADE`).
extension PostgresStore: ProtocolRecordStore {
    public func insertRecord(_ record: ProtocolRecord) async throws {
        let (json, stored) = try Self.normalise(record)
        try await schemaReady.wait()
        let inserted: [PostgresRow]
        do {
            inserted = try await client.query(
                """
                INSERT INTO protocol_records (organization_id, kind, id, session_id, created_at, doc)
                VALUES (\(stored.organizationID), \(stored.kind.rawValue), \(stored.id), \(stored.sessionID),
                        \(stored.createdAt), \(json)::jsonb)
                ON CONFLICT (organization_id, kind, id) DO NOTHING
                RETURNING 1
                """, logger: logger
            ).collect()
        } catch where Self.sqlState(error) == "23503" {
            throw StoreError.notFound(kind: "session", id: stored.sessionID ?? "")
        }
        guard !inserted.isEmpty else { throw Self.recordConflict(stored.kind, stored.id) }
    }

    public func record(_ kind: ProtocolRecordKind, id: String, organizationID: String) async throws -> ProtocolRecord? {
        try await document(
            ProtocolRecord.self,
            """
            SELECT doc::text FROM protocol_records
            WHERE organization_id = \(organizationID) AND kind = \(kind.rawValue) AND id = \(id)
            """)
    }

    public func records(_ kind: ProtocolRecordKind, organizationID: String, sessionID: String?) async throws
        -> [ProtocolRecord]
    {
        try await schemaReady.wait()
        let rows = try await client.query(
            """
            SELECT doc::text FROM protocol_records
            WHERE organization_id = \(organizationID) AND kind = \(kind.rawValue)
              AND (\(sessionID)::text IS NULL OR session_id = \(sessionID)::text)
            ORDER BY created_at, id
            """, logger: logger)
        var records: [ProtocolRecord] = []
        for try await json in rows.decode(String.self) { records.append(try Self.decode(ProtocolRecord.self, json)) }
        return records
    }

    public func updateRecord(
        _ kind: ProtocolRecordKind, id: String, organizationID: String,
        _ change: @Sendable (inout ProtocolRecord) throws -> Void
    ) async throws -> ProtocolRecord {
        try await transaction { connection in
            guard
                var record = try await Self.document(
                    ProtocolRecord.self,
                    """
                    SELECT doc::text FROM protocol_records
                    WHERE organization_id = \(organizationID) AND kind = \(kind.rawValue) AND id = \(id)
                    FOR UPDATE
                    """, on: connection, logger: logger)
            else { throw Self.recordNotFound(kind, id) }
            let original = record
            try change(&record)
            record.keepIdentity(of: original)
            let (json, stored) = try Self.normalise(record)
            try await connection.query(
                """
                UPDATE protocol_records SET doc = \(json)::jsonb
                WHERE organization_id = \(organizationID) AND kind = \(kind.rawValue) AND id = \(id)
                """, logger: logger)
            return stored
        }
    }

    public func deleteRecord(_ kind: ProtocolRecordKind, id: String, organizationID: String) async throws -> Bool {
        try await schemaReady.wait()
        let deleted = try await client.query(
            """
            DELETE FROM protocol_records
            WHERE organization_id = \(organizationID) AND kind = \(kind.rawValue) AND id = \(id)
            RETURNING 1
            """, logger: logger
        ).collect()
        return !deleted.isEmpty
    }

    public func deleteRecords(sessionID: String, organizationID: String) async throws {
        try await schemaReady.wait()
        try await client.query(
            "DELETE FROM protocol_records WHERE organization_id = \(organizationID) AND session_id = \(sessionID)",
            logger: logger)
    }
}
