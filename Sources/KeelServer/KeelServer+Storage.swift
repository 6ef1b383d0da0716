import Foundation
import KeelAuth
import KeelCore
import KeelDurable
import KeelEngine
import KeelStorage
import Logging
import ServiceLifecycle

/// The store the configuration asks for: in memory with DEV_MODE, PostgreSQL with DATABASE_URL.
struct StorageAssembly {
    var store: any KeelStore
    /// Users, organizations, API keys and refresh tokens: the same database as `store`.
    var authStore: any AuthStore
    /// The Agent Protocol's assistant, thread and run records: the same database as `store`.
    var records: any ProtocolRecordStore
    /// The PostgreSQL store in durable mode (turns then run on the durable step queue).
    var postgres: PostgresStore?
    /// Services that must outlive the rest (the PostgreSQL pool): registered first, stopped last.
    var services: [any Service]
    var kind: String
    /// Opens once the database holds the schema and the seed data (at once for the in-memory
    /// store); the HTTP listener and the execution services wait for it.
    var ready: Latch

    static func make(_ configuration: KeelConfiguration, observers: [any EventObserver], logger: Logger) async throws
        -> StorageAssembly
    {
        let base: any KeelStore
        let authStore: any AuthStore
        let records: any ProtocolRecordStore
        var postgresStore: PostgresStore?
        var services: [any Service] = []
        let kind: String
        let ready = Latch()
        if !configuration.devMode, let url = configuration.databaseURL {
            // Migrate and seed with a short-lived pool first, so an unreachable database or a failed
            // migration stops start-up with a clear message instead of failing later requests. That
            // network work runs as the first service (`DatabaseWarmUp`), inside the lifecycle.
            services.append(
                DatabaseWarmUp(ready: ready, logger: logger) {
                    let migrator = try PostgresStore(url: url, maxConnections: 2, migrations: [.durable], logger: logger)
                    try await migrator.withRunning { store in
                        try await seed(store, auth: store, configuration, logger: logger)
                    }
                })
            // Durable mode: KeelDurable's tables (step queue, session files) live in the same database.
            let postgres = try PostgresStore(
                url: url, maxConnections: configuration.databaseMaxConnections, migrations: [.durable], logger: logger)
            base = postgres
            authStore = postgres
            records = postgres
            postgresStore = postgres
            // The pool migrates too (a no-op by then, under the same advisory lock); it starts after the warm-up.
            services.append(postgres.waitingForDatabase(ready))
            kind = "postgres"
        } else {
            let memory = InMemoryStore(maxEventBytes: configuration.memoryStoreMaxMB << 20)
            let memoryAuth = InMemoryAuthStore()
            try await seed(memory, auth: memoryAuth, configuration, logger: logger)
            ready.signal()
            base = memory
            authStore = memoryAuth
            records = InMemoryProtocolRecordStore()
            kind = "memory"
        }
        let store: any KeelStore = observers.isEmpty ? base : ObservedStore(base: base, observers: observers)
        return StorageAssembly(
            store: store, authStore: authStore, records: records, postgres: postgresStore, services: services, kind: kind, ready: ready)
    }

    /// Built-in providers, seed agents and the accounts AUTH_MODE needs, added only where missing
    /// (a restart finds them stored).
    private static func seed(
        _ store: any KeelStore, auth: any AuthStore, _ configuration: KeelConfiguration, logger: Logger
    ) async throws {
        try await AuthService.bootstrap(configuration.auth, store: auth, logger: logger)
        try await BuiltInProviders.provision(organizationID: BuiltIn.organizationID, in: store)
        try await SeedAgents.install(into: store, grade: configuration.deploymentGrade, logger: logger)
    }
}
