import Foundation
import KeelCore
import KeelEngine
import KeelStorage
import Logging
import PostgresNIO

/// Breakers in `durable_circuit_breakers`, so every instance sees the same state: a change is
/// read `FOR UPDATE`, applied by `CircuitBreakerState`'s rules and written back in one
/// transaction. Closed breakers that never failed have no row (a read finds nothing: closed).
public final class PostgresCircuitBreakerStore: CircuitBreakerStore {
    let store: PostgresStore
    let logger: Logger

    public init(store: PostgresStore, logger: Logger) {
        self.store = store
        self.logger = logger
    }

    public func breaker(key: String) async throws -> CircuitBreakerState? {
        try await store.waitForSchema()
        let rows = try await store.client.query(
            "SELECT state::text FROM durable_circuit_breakers WHERE key = \(key)", logger: logger
        ).collect()
        return try rows.first.map { try PostgresStore.decode(CircuitBreakerState.self, try $0.decode(String.self)) }
    }

    public func update<T: Sendable>(
        key: String, organizationID: String?, _ change: @Sendable (inout CircuitBreakerState) -> T
    ) async throws -> (before: CircuitBreakerState, after: CircuitBreakerState, result: T) {
        try await store.waitForSchema()
        return try await store.transaction { connection in
            // The row must exist to be locked: insert a closed one first if there is none.
            try await connection.query(
                """
                INSERT INTO durable_circuit_breakers (key, state)
                VALUES (
                    \(key),
                    \(try PostgresStore.encode(CircuitBreakerState(key: key, organizationID: organizationID, now: Date())))::jsonb)
                ON CONFLICT (key) DO NOTHING
                """, logger: logger)
            let rows = try await connection.query(
                "SELECT state::text FROM durable_circuit_breakers WHERE key = \(key) FOR UPDATE", logger: logger
            ).collect()
            guard let json = try rows.first?.decode(String.self) else {
                throw PostgresStoreError.corruptRow("circuit breaker \(key) vanished inside its transaction")
            }
            let before = try PostgresStore.decode(CircuitBreakerState.self, json)
            var after = before
            let result = change(&after)
            if after != before {
                try await connection.query(
                    """
                    UPDATE durable_circuit_breakers SET state = \(try PostgresStore.encode(after))::jsonb, updated_at = now()
                    WHERE key = \(key)
                    """, logger: logger)
            }
            return (before, after, result)
        }
    }

    public func breakers() async throws -> [CircuitBreakerState] {
        try await store.waitForSchema()
        let rows = try await store.client.query(
            "SELECT state::text FROM durable_circuit_breakers ORDER BY key", logger: logger)
        var states: [CircuitBreakerState] = []
        for try await json in rows.decode(String.self) {
            states.append(try PostgresStore.decode(CircuitBreakerState.self, json))
        }
        return states
    }
}
