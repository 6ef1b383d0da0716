import Logging
import PostgresNIO

/// One fresh database `keel_bench_<random>` for one server start, created on the admin URL's server
/// and dropped (`WITH (FORCE)`) at the end, and its SQL statement counter.
///
/// Statements are counted with `pg_stat_statements`: the extension is created in the new database
/// (it needs `shared_preload_libraries = 'pg_stat_statements'`, which scripts/with-postgres sets
/// when the module is installed). When it is not available the counter is nil and `unavailable`
/// says why, so the report shows null with the reason rather than a wrong number.
public final class BenchDatabase: Sendable {
    public let name: String
    public let url: PostgresURL
    /// Why statements cannot be counted, or nil when they can.
    public let unavailable: String?
    private let admin: PostgresURL
    private let logger: Logger

    private init(name: String, admin: PostgresURL, unavailable: String?, logger: Logger) {
        self.name = name
        self.url = admin.with(database: name)
        self.admin = admin
        self.unavailable = unavailable
        self.logger = logger
    }

    public static func create(admin: PostgresURL, logger: Logger) async throws -> BenchDatabase {
        let name = "keel_bench_\(RandomText.hex(bytes: 6))"
        do {
            try await withConnection(to: admin, logger: logger) { connection in
                try await connection.query(PostgresQuery(unsafeSQL: #"CREATE DATABASE "\#(name)""#), logger: logger)
            }
        } catch {
            throw BenchError.database("CREATE DATABASE \(name) on \(admin.host):\(admin.port): \(describe(error))")
        }
        var unavailable: String?
        do {
            try await withConnection(to: admin.with(database: name), logger: logger) { connection in
                try await connection.query("CREATE EXTENSION IF NOT EXISTS pg_stat_statements", logger: logger)
                // Creating the extension works without the preloaded module; reading it does not.
                try await connection.query("SELECT count(*) FROM pg_stat_statements", logger: logger)
            }
        } catch {
            unavailable = "pg_stat_statements unavailable: \(describe(error))"
        }
        return BenchDatabase(name: name, admin: admin, unavailable: unavailable, logger: logger)
    }

    /// Statements executed in this database so far (the sum of `calls`), leaving out the
    /// benchmark's own reads of `pg_stat_statements`; nil when it cannot be counted.
    public func statementCount() async -> Int64? {
        guard unavailable == nil else { return nil }
        return try? await Self.withConnection(to: url, logger: logger) { connection in
            let rows = try await connection.query(
                """
                SELECT coalesce(sum(calls), 0)::bigint FROM pg_stat_statements s
                JOIN pg_database d ON d.oid = s.dbid
                WHERE d.datname = \(name) AND s.query NOT LIKE '%pg_stat_statements%'
                """, logger: logger)
            for try await count in rows.decode(Int64.self) { return count }
            return 0
        }
    }

    /// Drops the database, disconnecting whoever is still connected; reports a failure, never throws.
    public func drop() async -> String? {
        do {
            try await Self.withConnection(to: admin, logger: logger) { connection in
                try await connection.query(
                    PostgresQuery(unsafeSQL: #"DROP DATABASE IF EXISTS "\#(name)" WITH (FORCE)"#), logger: logger)
            }
            return nil
        } catch {
            return "could not drop database \(name): \(Self.describe(error))"
        }
    }

    @discardableResult
    private static func withConnection<T: Sendable>(
        to url: PostgresURL, logger: Logger, _ body: (PostgresConnection) async throws -> T
    ) async throws -> T {
        let configuration = PostgresConnection.Configuration(
            host: url.host, port: url.port, username: url.user, password: url.password, database: url.database,
            tls: .disable)
        let connection = try await PostgresConnection.connect(configuration: configuration, id: 1, logger: logger)
        do {
            let result = try await body(connection)
            try? await connection.close()
            return result
        } catch {
            try? await connection.close()
            throw error
        }
    }

    /// The server's message where there is one (PSQLError's description hides it on purpose).
    static func describe(_ error: any Error) -> String {
        if let error = error as? PSQLError {
            if let message = error.serverInfo?[.message] { return message }
            return "\(error.code)"
        }
        return "\(error)"
    }
}
