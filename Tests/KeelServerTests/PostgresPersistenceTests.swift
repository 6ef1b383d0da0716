import Foundation
import KeelCore
import Logging
import PostgresNIO
import Testing

/// The server on PostgreSQL (DATABASE_URL, no DEV_MODE): data survives a restart, and a second
/// instance on the same database streams a turn started through the first one.
@Suite("PostgreSQL-backed server", .serialized)
struct PostgresPersistenceTests {
    static let key = "kek-v1:" + Data(repeating: 7, count: 32).base64EncodedString()

    /// A fresh database on the private test cluster, dropped afterwards; nil (skip) without one.
    static func withDatabase(_ body: (String) async throws -> Void) async throws {
        guard let admin = ProcessInfo.processInfo.environment["KEEL_TEST_DATABASE_URL"], !admin.isEmpty else {
            if ProcessInfo.processInfo.environment["CI"] != nil {
                Issue.record("KEEL_TEST_DATABASE_URL is not set: run the tests through scripts/with-postgres")
            } else {
                print("skipping PostgreSQL server tests: KEEL_TEST_DATABASE_URL is unset (use scripts/with-postgres)")
            }
            return
        }
        guard let components = URLComponents(string: admin), let host = components.host, let port = components.port else {
            Issue.record("KEEL_TEST_DATABASE_URL is not a postgres:// URL with host and port")
            return
        }
        let name = "keel_server_\(UInt32.random(in: 0...UInt32.max))"
        let configuration = PostgresClient.Configuration(
            host: host, port: port, username: components.user ?? "postgres", password: components.password,
            database: "postgres", tls: .disable)
        let client = PostgresClient(configuration: configuration)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await client.run() }
            defer { group.cancelAll() }
            try await client.query(PostgresQuery(unsafeSQL: "CREATE DATABASE \(name)"))
            var url = components
            url.path = "/\(name)"
            var failure: (any Error)?
            do { try await body(url.string ?? admin) } catch { failure = error }
            try await client.query(PostgresQuery(unsafeSQL: "DROP DATABASE IF EXISTS \(name) WITH (FORCE)"))
            if let failure { throw failure }
        }
    }

    static func environment(_ url: String) -> [String: String] {
        ["DEV_MODE": "false", "AUTH_MODE": "none", "DATABASE_URL": url, "SECRETS_ENCRYPTION_KEY": key, "DATABASE_MAX_CONNECTIONS": "5",
         "WORKER_GRPC_AUTH_TOKEN": "test-worker-token", "WORKER_GRPC_ADDR": "127.0.0.1:0"]
    }

    @Test("agents, sessions, messages, events and encrypted provider keys survive a restart")
    func restart() async throws {
        try await Self.withDatabase { url in
            let before = try await TestServer.run(environment: Self.environment(url)) { server in
                #expect(try await server.request(.get, "/health").json["storage"] == "postgres")
                let agent = try await server.request(
                    .post, "/v1/agents", json: ["name": "durable", "system_prompt": "x", "capabilities": [["ref": "test_math"]]])
                let agentID = try #require(agent.json["id"]?.stringValue)
                let sessionID = try await server.createSession(["agent_id": .string(agentID)])
                _ = try await server.send(sessionID, #"[[tool:add {"a":2,"b":3}]]"#)
                try await server.waitForIdle(sessionID)
                let provider = try await server.request(
                    .post, "/v1/providers", json: ["name": "Mine", "provider_type": "openai", "api_key": "sk-persisted-key"])
                #expect(provider.status == 201)
                return (agentID, sessionID, try await server.events(sessionID),
                        try await server.request(.get, "/v1/sessions/\(sessionID)/messages").json)
            }
            let (agentID, sessionID, events, messages) = before
            try await TestServer.run(environment: Self.environment(url)) { server in
                #expect(try await server.request(.get, "/v1/agents/\(agentID)").json["name"] == "durable")
                #expect(try await server.request(.get, "/v1/sessions/\(sessionID)").json["status"] == "idle")
                #expect(try await server.events(sessionID) == events, "the event log is unchanged")
                #expect(try await server.request(.get, "/v1/sessions/\(sessionID)/messages").json == messages)
                let providers = try await server.request(.get, "/v1/providers").json["data"]?.arrayValue ?? []
                #expect(providers.first { $0["name"] == "Mine" }?["api_key_set"] == true)
                #expect(!providers.map(\.jsonString).joined().contains("sk-persisted-key"))
                #expect(providers.filter { $0["is_builtin"] == true }.count == 4, "built-ins are not seeded twice")

                _ = try await server.send(sessionID, "after the restart")
                let after = try await server.waitForIdle(sessionID, turns: 2)
                let sequences = after.compactMap { $0["sequence"]?.intValue }
                #expect(sequences == Array(1...sequences.count), "one gapless sequence across the restart")
            }
        }
    }

    @Test("two instances on one database: SSE on one sees a turn started through the other")
    func twoInstances() async throws {
        try await Self.withDatabase { url in
            try await TestServer.run(environment: Self.environment(url)) { first in
                try await TestServer.run(environment: Self.environment(url)) { second in
                    let sessionID = try await first.createSession()
                    let stream = try await SSEReader.open("\(first.baseURL)/v1/sessions/\(sessionID)/sse")
                    #expect(try await stream.next()?.event == "connected")
                    _ = try await stream.frames(until: { $0.event == "session.started" })
                    let sent = try await second.send(sessionID, "hello from the other instance")
                    #expect(sent.status == 201)
                    let frames = try await stream.frames(until: { $0.event == "session.idled" }, timeout: .seconds(10))
                    #expect(frames.contains { $0.event == "turn.completed" })
                    let text = frames.last { $0.event == "output.message.completed" }?.json?["data"]?["message"]?["content"]?
                        .arrayValue?.first?["text"]?.stringValue
                    #expect(text == "Echo: hello from the other instance")
                }
            }
        }
    }
}
