import Foundation
import KeelCore
import KeelStorage
import PostgresNIO
import Testing

/// What only the PostgreSQL store has: several instances on one database, migrations, the
/// append-only guard, the LISTEN connection. Skipped (or failing under CI) without a database.
@Suite("PostgreSQL store", .timeLimit(.minutes(2)))
struct PostgresStoreTests {
    private func makeStore(_ configuration: PostgresStore.Configuration) throws -> PostgresStore {
        try PostgresStore(configuration: configuration, logger: TestDatabase.logger)
    }

    /// Runs two stores on the same database, booted together (their migrations race for the lock).
    private func withTwoInstances<Result: Sendable>(
        _ configuration: PostgresStore.Configuration, _ body: (PostgresStore, PostgresStore) async throws -> Result
    ) async throws -> Result {
        let a = try makeStore(configuration)
        let b = try makeStore(configuration)
        return try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await a.run() }
            group.addTask { try await b.run() }
            defer { group.cancelAll() }
            try await a.waitUntilReady()
            try await b.waitUntilReady()
            return try await body(a, b)
        }
    }

    private func count(_ sql: String, on store: PostgresStore) async throws -> Int {
        var result = 0
        for try await value in try await store.client.query(PostgresQuery(unsafeSQL: sql)).decode(Int.self) {
            result = value
        }
        return result
    }

    @Test("an append on one instance wakes a reader on another (NOTIFY)")
    func crossInstanceWakeUp() async throws {
        try await TestDatabase.withDatabase { configuration in
            try await withTwoInstances(configuration) { a, b in
                let session = Session(now: day(0))
                try await a.insertSession(session)
                #expect(try await b.session(id: session.id, organizationID: session.organizationID) == session)

                let signals = b.eventSignals.subscribe(sessionID: session.id)
                let started = ContinuousClock.now
                let event = try await a.appendEvent(
                    sessionID: session.id, organizationID: session.organizationID, draft(EventType.inputMessage))
                #expect(await wakes(signals, within: .seconds(30)))  // liveness bound; the latency is printed
                print("◇ cross-instance wake-up after \(ContinuousClock.now - started)")
                #expect(
                    try await b.events(sessionID: session.id, organizationID: session.organizationID, EventQuery())
                        == [event])

                // Deleting on B wakes A's readers too.
                let deletion = a.eventSignals.subscribe(sessionID: session.id)
                try await b.deleteSession(id: session.id, organizationID: session.organizationID)
                #expect(await wakes(deletion, within: .seconds(30)))
                #expect(try await a.session(id: session.id, organizationID: session.organizationID) == nil)
            }
        }
    }

    @Test("instances appending to one session concurrently share one gapless sequence")
    func crossInstanceSequences() async throws {
        try await TestDatabase.withDatabase { configuration in
            try await withTwoInstances(configuration) { a, b in
                let session = Session(now: day(0))
                try await a.insertSession(session)
                let sequences = try await withThrowingTaskGroup(of: Int.self) { group in
                    for index in 0..<40 {
                        let store = index.isMultiple(of: 2) ? a : b
                        group.addTask {
                            try await store.appendEvent(
                                sessionID: session.id, organizationID: session.organizationID,
                                draft(EventType.outputMessageDelta)
                            ).sequence
                        }
                    }
                    return try await group.reduce(into: [Int]()) { $0.append($1) }
                }
                #expect(sequences.sorted() == Array(1...40))
                let stored = try await b.events(
                    sessionID: session.id, organizationID: session.organizationID, EventQuery())
                #expect(stored.map(\.sequence) == Array(1...40))
            }
        }
    }

    @Test("a batch of events appends in one statement: gapless after single appends, every field as stored")
    func batchedAppends() async throws {
        try await TestDatabase.withDatabase { configuration in
            let store = try makeStore(configuration)
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await store.run() }
                defer { group.cancelAll() }
                try await store.waitUntilReady()
                let session = Session(now: day(0))
                try await store.insertSession(session)
                let organization = session.organizationID
                _ = try await store.appendEvent(sessionID: session.id, organizationID: organization, draft(EventType.inputMessage))

                var rich = draft(EventType.turnStarted, ["text": "nul\u{0}byte", "n": 1], turn: "turn_1")
                rich.metadata = ["k": "v"]
                rich.tags = ["a", #"quote"d"#, ""]
                var untagged = draft(EventType.reasonStarted)
                untagged.tags = []
                let batch = [rich, untagged, draft(EventType.turnCompleted)]
                let appended = try await store.transaction { connection in
                    try await store.appendEvents(sessionID: session.id, organizationID: organization, batch, on: connection)
                }
                #expect(appended.map(\.sequence) == [2, 3, 4])
                #expect(appended.map(\.type) == batch.map(\.type))
                let stored = try await store.events(sessionID: session.id, organizationID: organization, EventQuery())
                #expect(Array(stored.dropFirst()) == appended, "what the append returns is what a read gives")
                #expect(stored[1].tags == ["a", #"quote"d"#, ""] && stored[1].metadata == ["k": "v"])
                #expect(stored[1].data["n"] == 1 && stored[1].context.turnID == "turn_1")
                #expect(stored[2].tags == [] && stored[2].metadata == nil)
                #expect(stored[3].tags == nil)

                // Another organization's session appends nothing; a rolled-back batch leaves no gap.
                await #expect(throws: StoreError.notFound(kind: "session", id: session.id)) {
                    try await store.transaction { connection in
                        try await store.appendEvents(sessionID: session.id, organizationID: "org_other", batch, on: connection)
                    }
                }
                struct Abort: Error {}
                await #expect(throws: Abort.self) {
                    try await store.transaction { connection in
                        _ = try await store.appendEvents(sessionID: session.id, organizationID: organization, batch, on: connection)
                        throw Abort()
                    }
                }
                let next = try await store.appendEvent(sessionID: session.id, organizationID: organization, draft(EventType.sessionIdled))
                #expect(next.sequence == 5)

                // A batch for a session that never had an event starts at 1.
                let fresh = Session(now: day(0))
                try await store.insertSession(fresh)
                let first = try await store.transaction { connection in
                    try await store.appendEvents(sessionID: fresh.id, organizationID: organization, batch, on: connection)
                }
                #expect(first.map(\.sequence) == [1, 2, 3])
            }
        }
    }

    @Test("migrations: applied once under the advisory lock, idempotent on restart")
    func migrations() async throws {
        try await TestDatabase.withDatabase { configuration in
            let session = Session(now: day(0))
            try await withTwoInstances(configuration) { a, _ in
                // The store's own tracks, storage and auth (other modules' sets are not given), once each.
                #expect(try await count("SELECT count(*) FROM module_migrations", on: a) == 5)
                #expect(try await count("SELECT max(version) FROM module_migrations WHERE module = 'storage'", on: a) == 4)
                #expect(try await count("SELECT max(version) FROM module_migrations WHERE module = 'auth'", on: a) == 1)
                try await a.insertSession(session)
                _ = try await a.appendEvent(
                    sessionID: session.id, organizationID: session.organizationID, draft(EventType.inputMessage))
            }
            // A restart finds the schema in place and the data intact.
            try await makeStore(configuration).withRunning { store in
                #expect(try await count("SELECT count(*) FROM module_migrations", on: store) == 5)
                #expect(try await store.session(id: session.id, organizationID: session.organizationID) == session)
                let next = try await store.appendEvent(
                    sessionID: session.id, organizationID: session.organizationID, draft(EventType.turnStarted))
                #expect(next.sequence == 2)
            }
        }
    }

    @Test("events are append-only: UPDATE and DELETE are refused outside session deletion")
    func appendOnly() async throws {
        try await TestDatabase.withDatabase { configuration in
            try await makeStore(configuration).withRunning { store in
                let session = Session(now: day(0))
                try await store.insertSession(session)
                let event = try await store.appendEvent(
                    sessionID: session.id, organizationID: session.organizationID,
                    draft(EventType.inputMessage, "original"))
                await #expect(throws: PSQLError.self) {
                    try await store.client.query("UPDATE events SET data = '\"forged\"'::jsonb WHERE id = \(event.id)")
                }
                await #expect(throws: PSQLError.self) {
                    try await store.client.query("DELETE FROM events WHERE id = \(event.id)")
                }
                await #expect(throws: PSQLError.self) {
                    try await store.client.query("UPDATE events SET sequence = 7 WHERE id = \(event.id)")
                }
                #expect(try await store.event(id: event.id, organizationID: session.organizationID) == event)
                try await store.deleteSession(id: session.id, organizationID: session.organizationID)
                #expect(try await count("SELECT count(*) FROM events", on: store) == 0)
                #expect(try await count("SELECT count(*) FROM event_sequences", on: store) == 0)
            }
        }
    }

    @Test("the LISTEN connection comes back after the server drops it")
    func listenerReconnects() async throws {
        try await TestDatabase.withDatabase { configuration in
            try await withTwoInstances(configuration) { a, b in
                let session = Session(now: day(0))
                try await a.insertSession(session)
                let terminated = try await count(
                    """
                    SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
                    WHERE application_name = 'keel-listener' AND datname = current_database()
                    """, on: a)
                #expect(terminated == 2)
                // Notifications sent while B has no LISTEN connection are lost; once it is back
                // (backoff starts at 100 ms), appends on A wake B's readers again. Each append is
                // given a second to arrive before the next try; all of it bounded for a loaded machine.
                var woke = false
                let started = ContinuousClock.now
                while !woke, ContinuousClock.now - started < .seconds(30) {
                    let signals = b.eventSignals.subscribe(sessionID: session.id)
                    _ = try await a.appendEvent(
                        sessionID: session.id, organizationID: session.organizationID, draft(EventType.outputMessageDelta))
                    woke = await wakes(signals, within: .seconds(1))
                }
                #expect(woke)
                print("◇ LISTEN back after \(ContinuousClock.now - started)")
                let listeners = try await count(
                    """
                    SELECT count(*) FROM pg_stat_activity
                    WHERE application_name = 'keel-listener' AND datname = current_database()
                    """, on: a)
                #expect(listeners == 2)
            }
        }
    }

    @Test("a store whose database does not exist fails to start instead of hanging")
    func missingDatabase() async throws {
        let admin = try PostgresStore.Configuration(url: TestDatabase.requireURL())
        var logger = TestDatabase.logger
        logger.logLevel = .critical
        let store = try PostgresStore(configuration: admin.database("keel_test_does_not_exist"), logger: logger)
        await #expect(throws: PSQLError.self) {
            try await store.withRunning { _ in }
        }
        await #expect(throws: PSQLError.self) {
            try await store.session(id: "session_x", organizationID: BuiltIn.organizationID)
        }
    }

    @Test("connects through a unix socket directory (?host=/dir)")
    func unixSocket() async throws {
        let url = try TestDatabase.requireURL()
        guard let directory = ProcessInfo.processInfo.environment["KEEL_TEST_POSTGRES_SOCKET_DIR"] else {
            try Test.cancel("KEEL_TEST_POSTGRES_SOCKET_DIR is not set (scripts/with-postgres sets it)")
        }
        let tcp = try PostgresStore.Configuration(url: url)
        try await TestDatabase.withDatabase { configuration in
            let socketURL =
                "postgres://\(tcp.username)@/\(configuration.database ?? "")?host=\(directory)&port=\(tcp.port)"
            let socket = try PostgresStore.Configuration(url: socketURL)
            #expect(socket.unixSocketPath == "\(directory)/.s.PGSQL.\(tcp.port)")
            try await makeStore(socket).withRunning { store in
                let session = Session(now: day(0))
                try await store.insertSession(session)
                #expect(try await store.session(id: session.id, organizationID: session.organizationID) == session)
            }
        }
    }
}

@Suite("PostgreSQL store configuration")
struct PostgresConfigurationTests {
    @Test("parses a full URL")
    func fullURL() throws {
        let configuration = try PostgresStore.Configuration(
            url: "postgres://keel:s%40cr%3At@db.example.com:6543/keel_prod?sslmode=disable&application_name=keel",
            maxConnections: 7)
        #expect(configuration.username == "keel")
        #expect(configuration.password == "s@cr:t")
        #expect(configuration.host == "db.example.com")
        #expect(configuration.port == 6543)
        #expect(configuration.database == "keel_prod")
        #expect(configuration.sslMode == .disable)
        #expect(configuration.applicationName == "keel")
        #expect(configuration.maxConnections == 7)
        #expect(configuration.socketDirectory == nil)
        #expect(!configuration.description.contains("s@cr:t"))
        #expect(configuration.description.contains("***"))
        _ = try configuration.clientConfiguration()
        _ = try configuration.connectionConfiguration()
    }

    @Test("defaults, IPv6 and the postgresql scheme")
    func defaults() throws {
        let plain = try PostgresStore.Configuration(url: "postgresql://localhost")
        #expect(plain.username == "postgres" && plain.password == nil && plain.port == 5432)
        #expect(plain.database == nil && plain.sslMode == .prefer && plain.maxConnections == 20)
        let ipv6 = try PostgresStore.Configuration(url: "postgres://u@[::1]:5433/d?sslmode=verify-full")
        #expect(ipv6.host == "::1" && ipv6.port == 5433 && ipv6.database == "d" && ipv6.sslMode == .verifyFull)
        let required = try PostgresStore.Configuration(url: "postgres://u:p@h/d?sslmode=require&connect_timeout=3")
        #expect(required.sslMode == .require && required.connectTimeout == .seconds(3))
        _ = try required.clientConfiguration()
    }

    @Test("unix socket directory from ?host= or an encoded host")
    func socket() throws {
        let query = try PostgresStore.Configuration(url: "postgres://app@/appdb?host=/var/run/postgresql&port=5434")
        #expect(query.socketDirectory == "/var/run/postgresql")
        #expect(query.unixSocketPath == "/var/run/postgresql/.s.PGSQL.5434")
        #expect(query.database == "appdb")
        let encoded = try PostgresStore.Configuration(url: "postgres://app@%2Ftmp%2Fpg/appdb")
        #expect(encoded.unixSocketPath == "/tmp/pg/.s.PGSQL.5432")
        _ = try encoded.clientConfiguration()
    }

    @Test("rejects malformed URLs", arguments: [
        "mysql://u@h/d", "localhost:5432/db", "postgres://u@h:99999/d", "postgres://u@h:abc/d",
        "postgres://u@h/d?sslmode=sometimes", "postgres://u@[::1/d",
    ])
    func rejects(url: String) {
        #expect(throws: PostgresStoreError.self) { try PostgresStore.Configuration(url: url) }
    }

    @Test("rejects an empty pool")
    func emptyPool() {
        #expect(throws: PostgresStoreError.self) { try PostgresStore.Configuration(url: "postgres://h/d", maxConnections: 0) }
    }
}
