import KeelCore
import PostgresNIO

/// How the store reaches the database: pooled connections once the schema is in place,
/// transactions, and reads of JSONB documents and pages of them.
extension PostgresStore {
    /// A pooled connection once the schema is in place, for reads and single statements.
    func withPooledConnection<Result: Sendable>(_ body: (PostgresConnection) async throws -> Result)
        async throws -> Result
    {
        try await schemaReady.wait()
        return try await client.withConnection(body)
    }

    /// BEGIN … COMMIT on one pooled connection; ROLLBACK and rethrow the original error on failure
    /// (`StoreError`s thrown inside reach the caller unchanged).
    package func transaction<Result: Sendable>(_ body: (PostgresConnection) async throws -> Result) async throws
        -> Result
    {
        return try await withPooledConnection { connection in
            try await connection.query("BEGIN", logger: logger)
            do {
                let result = try await body(connection)
                try await connection.query("COMMIT", logger: logger)
                return result
            } catch {
                _ = try? await connection.query("ROLLBACK", logger: logger)
                throw error
            }
        }
    }

    func document<T: Decodable & Sendable>(_ type: T.Type, _ query: PostgresQuery) async throws -> T? {
        try await schemaReady.wait()
        let rows = try await client.query(query, logger: logger)
        for try await json in rows.decode(String.self) { return try Self.decode(T.self, json) }
        return nil
    }

    static func document<T: Decodable>(
        _ type: T.Type, _ query: PostgresQuery, on connection: PostgresConnection, logger: Logger
    ) async throws -> T? {
        let rows = try await connection.query(query, logger: logger).collect()
        guard let row = rows.first else { return nil }
        return try decode(T.self, row.decode(String.self))
    }

    func page<T: Decodable & Sendable>(_ type: T.Type, _ query: PostgresQuery, offset: Int, limit: Int)
        async throws -> Page<T>
    {
        try await schemaReady.wait()
        var total = 0
        var items: [T] = []
        let rows = try await client.query(query, logger: logger)
        for try await (count, json) in rows.decode((Int, String?).self) {
            total = count
            if let json { items.append(try Self.decode(T.self, json)) }
        }
        return Page(items: items, total: total, offset: offset, limit: limit)
    }
}
