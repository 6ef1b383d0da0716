import Foundation
import KeelCore
import KeelStorage
import Logging
import PostgresNIO
import Testing

/// The store implementations the conformance suite runs against.
enum StoreKind: String, CaseIterable, Sendable, CustomTestStringConvertible {
    case inMemory
    case postgres

    var testDescription: String { rawValue }
}

/// Access to the PostgreSQL server named by `KEEL_TEST_DATABASE_URL` (an admin URL; each test gets
/// its own database, created and dropped here). Without the variable, PostgreSQL tests are skipped —
/// or fail when `CI` is set, so CI can never pass without having run them.
enum TestDatabase {
    static let variable = "KEEL_TEST_DATABASE_URL"

    static var url: String? {
        ProcessInfo.processInfo.environment[variable].flatMap { $0.isEmpty ? nil : $0 }
    }

    static var isCI: Bool {
        guard let value = ProcessInfo.processInfo.environment["CI"]?.lowercased() else { return false }
        return !["", "0", "false", "no"].contains(value)
    }

    struct Unavailable: Error, CustomStringConvertible {
        var description: String {
            "\(TestDatabase.variable) is not set but CI is: the PostgreSQL storage tests must run in CI. "
                + "Run them with a private server: scripts/with-postgres swift test --filter KeelStorageTests"
        }
    }

    /// The admin URL, or skips the current test (fails it under CI).
    static func requireURL() throws -> String {
        if let url { return url }
        if isCI { throw Unavailable() }
        _ = announceSkip
        try Test.cancel(Comment(rawValue: skipReason))
    }

    static let skipReason =
        "\(variable) is not set; PostgreSQL tests skipped (run: scripts/with-postgres swift test --filter KeelStorageTests)"

    /// Printed once per run, not once per skipped case.
    private static let announceSkip: Void = print("◇ \(skipReason)")

    static var logger: Logger {
        var logger = Logger(label: "keel.storage.tests")
        logger.logLevel = .warning
        return logger
    }

    /// Runs `body` with the configuration of a new, empty database that is dropped afterwards.
    static func withDatabase<Result>(_ body: (PostgresStore.Configuration) async throws -> Result) async throws
        -> Result
    {
        let admin = try PostgresStore.Configuration(url: requireURL(), maxConnections: 20)
        let name = "keel_test_" + UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "").prefix(16)
        try await execute("CREATE DATABASE \(name)", admin: admin)
        do {
            let result = try await body(admin.database(name))
            try await execute("DROP DATABASE IF EXISTS \(name) WITH (FORCE)", admin: admin)
            return result
        } catch {
            try? await execute("DROP DATABASE IF EXISTS \(name) WITH (FORCE)", admin: admin)
            throw error
        }
    }

    /// One statement on a one-off connection.
    static func execute(_ sql: String, admin: PostgresStore.Configuration) async throws {
        let connection = try await PostgresConnection.connect(
            configuration: admin.connectionConfiguration(applicationName: "keel-tests"), id: 1, logger: logger)
        do {
            try await connection.query(PostgresQuery(unsafeSQL: sql), logger: logger)
        } catch {
            try? await connection.close()
            throw error
        }
        try await connection.close()
    }
}

/// Runs `body` against a fresh store of the given kind (for PostgreSQL: a new database, migrated,
/// the store running until `body` returns).
func withStore<Result: Sendable>(_ kind: StoreKind, _ body: (any KeelStore) async throws -> Result) async throws
    -> Result
{
    switch kind {
    case .inMemory:
        return try await body(InMemoryStore())
    case .postgres:
        return try await TestDatabase.withDatabase { configuration in
            let store = try PostgresStore(configuration: configuration, logger: TestDatabase.logger)
            return try await store.withRunning { try await body($0) }
        }
    }
}

/// Whether `signals` wakes within `limit`. On timeout the waiting is cancelled, which ends the
/// stream (an `AsyncStream` finishes when its consumer is cancelled): subscribe again to wait again.
func wakes<Signal: Sendable>(_ signals: AsyncStream<Signal>, within limit: Duration) async -> Bool {
    await withTaskGroup(of: Bool.self) { group in
        group.addTask {
            var iterator = signals.makeAsyncIterator()
            return await iterator.next() != nil
        }
        group.addTask {
            try? await Task.sleep(for: limit)
            return false
        }
        let first = await group.next() ?? false
        group.cancelAll()
        return first
    }
}

/// Fixed, whole-second timestamps (every store returns them unchanged).
func day(_ seconds: Int) -> Date {
    Date(timeIntervalSince1970: 1_767_225_600 + Double(seconds))
}

func draft(_ type: EventType, _ data: JSONValue = [:], turn: String? = nil) -> EventDraft {
    EventDraft(type: type, context: EventContext(turnID: turn), data: data)
}

struct Refused: Error, Equatable {}
