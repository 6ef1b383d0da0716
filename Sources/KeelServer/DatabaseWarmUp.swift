import KeelCore
import KeelStorage
import Logging
import ServiceLifecycle

/// Applies the schema and the seed data through a short-lived pool when the service group starts,
/// then opens `ready`. It runs inside the service lifecycle, not while the application is being
/// built, so a SIGTERM while PostgreSQL is slow or unreachable is an ordinary graceful shutdown;
/// the HTTP listener and the execution services wait for `ready` (see `waitingForDatabase`).
///
/// An unreachable database or a failed migration still stops start-up with a `ConfigurationError`
/// naming `DATABASE_URL`, within `timeout`.
struct DatabaseWarmUp: Service {
    var timeout: Duration = .seconds(30)
    let ready: Latch
    let logger: Logger
    let work: @Sendable () async throws -> Void

    func run() async throws {
        logger.info("connecting to PostgreSQL to apply the schema and the seed data")
        do {
            try await cancelWhenGracefulShutdown { [timeout, work] in
                try await withTimeout(timeout) { try await work() }
            }
        } catch {
            // Shut down while still warming up: nothing to report, the server never served.
            if Task.isShuttingDownGracefully || Task.isCancelled { return }
            throw ConfigurationError(
                variable: "DATABASE_URL",
                message: "could not connect to PostgreSQL and apply the schema within \(timeout.components.seconds) s (\(type(of: error)); see the log)")
        }
        ready.signal()
        // Stay up: a service that returns early would end the whole group.
        try? await gracefulShutdown()
    }
}

/// Runs `service` once the database is ready; returns without running it when the group shuts down first.
struct WaitingForDatabase: Service {
    let ready: Latch
    let service: any Service

    func run() async throws {
        await cancelWhenGracefulShutdown { [ready] in await ready.wait() }
        guard ready.isSignalled, !Task.isCancelled else { return }
        try await service.run()
    }
}

extension Service {
    /// This service, started only after `ready` opens (the schema is applied).
    func waitingForDatabase(_ ready: Latch) -> any Service {
        WaitingForDatabase(ready: ready, service: self)
    }
}
