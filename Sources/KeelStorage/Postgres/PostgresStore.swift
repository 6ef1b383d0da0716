import Foundation
import KeelCore
import Logging
import PostgresNIO
import ServiceLifecycle
import Synchronization

/// `KeelStore` on PostgreSQL (durable mode), behaving exactly like `InMemoryStore`.
///
/// * It is a ServiceLifecycle `Service`: `run()` runs the connection pool (`client`), applies the schema
///   migrations (under an advisory lock, so instances may boot together) and keeps a dedicated LISTEN
///   connection that turns other instances' appends into local `eventSignals` wake-ups. Calls made
///   before the migrations have finished wait for them. Run it once (a `PostgresClient` can run once).
/// * Agents, sessions and providers are JSONB documents (KeelJSON encoding) next to the columns that
///   are queried. Timestamps are kept with millisecond precision, the precision of the wire format;
///   values returned by the store are normalised the same way, so they compare equal to what a later
///   read returns.
/// * Events are append-only rows. `appendEvent` allocates the next gapless sequence with an upsert on
///   `event_sequences` in the same statement as the insert; a trigger refuses UPDATE, and DELETE except
///   as the cascade of deleting the session; another trigger sends `NOTIFY keel_events, '<session id>'`,
///   which PostgreSQL delivers when the append commits.
public final class PostgresStore: KeelStore, Service, Sendable {
    /// The NOTIFY channel carrying the session id of every committed append (and of deleted sessions).
    public static let eventChannel = "keel_events"

    public let configuration: Configuration
    /// The query pool. `run()` runs it; do not run it separately.
    public let client: PostgresClient
    public let eventSignals = SessionEventSignals()
    /// What `run()` migrates: storage's own set, then the other modules' sets given to `init`.
    public let migrationSets: [PostgresMigrationSet]

    let logger: Logger
    // Internal, not private: the PostgresStore+Feature files use them.
    let schemaReady = ReadinessGate()
    let listening = ReadinessGate()
    let connectionIDs = Atomic<Int>(1_000_000)

    /// `migrations`: the sets of the other modules whose tables live in this database (KeelDurable's
    /// `.durable` in durable mode), applied after storage's own, in order.
    public init(
        configuration: Configuration, migrations: [PostgresMigrationSet] = [],
        logger: Logger = Logger(label: "keel.storage.postgres")
    ) throws {
        self.configuration = configuration
        self.migrationSets = [.storage, .auth] + migrations
        self.logger = logger
        self.client = PostgresClient(configuration: try configuration.clientConfiguration(), backgroundLogger: logger)
    }

    public convenience init(
        url: String, maxConnections: Int = 20, migrations: [PostgresMigrationSet] = [],
        logger: Logger = Logger(label: "keel.storage.postgres")
    ) throws {
        try self.init(
            configuration: Configuration(url: url, maxConnections: maxConnections), migrations: migrations,
            logger: logger)
    }

    // MARK: Lifecycle

    /// Runs the pool, migrates, then listens for other instances' appends until graceful shutdown or
    /// cancellation. Throws if the migrations fail.
    public func run() async throws {
        do {
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { await self.client.run() }
                do {
                    try await migrate()
                } catch {
                    logger.error("database migration failed", metadata: ["error": "\(Self.describe(error))"])
                    throw error
                }
                schemaReady.open()
                group.addTask { await self.listenForEvents() }
                // Both children end on graceful shutdown or cancellation; when one ends, stop the other.
                _ = try await group.next()
                group.cancelAll()
            }
        } catch {
            schemaReady.fail(error)
            listening.fail(error)
            throw error
        }
        schemaReady.fail(PostgresStoreError.notRunning)
        listening.fail(PostgresStoreError.notRunning)
    }

    /// Applies pending migrations on a connection of its own (the advisory lock is held by that
    /// session; closing it releases the lock even if something goes wrong half-way).
    private func migrate() async throws {
        let connection = try await PostgresConnection.connect(
            configuration: configuration.connectionConfiguration(applicationName: "keel-migrations"),
            id: connectionIDs.add(1, ordering: .relaxed).newValue, logger: logger)
        do {
            try await PostgresMigrations.apply(migrationSets, on: connection, logger: logger)
        } catch {
            try? await connection.close()
            throw error
        }
        try await connection.close()
    }

    /// Waits until the schema is migrated (the pool is usable).
    package func waitForSchema() async throws {
        try await schemaReady.wait()
    }

    /// Waits until the schema is migrated and the LISTEN connection is established.
    public func waitUntilReady() async throws {
        try await schemaReady.wait()
        try await listening.wait()
    }

    /// Runs the store for the duration of `body` (for tools and tests that have no service group).
    public func withRunning<Result: Sendable>(_ body: (PostgresStore) async throws -> Result) async throws -> Result {
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await self.run() }
            do {
                try await waitUntilReady()
                let result = try await body(self)
                group.cancelAll()
                return result
            } catch {
                group.cancelAll()
                throw error
            }
        }
    }
}
