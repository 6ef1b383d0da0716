import Foundation
import HTTPTypes
import KeelCore
import Logging
import PostgresNIO
import KeelTestSupport
import Testing

/// Issue 10: no password, key, access token or refresh token appears in a response (beyond the
/// one-time key), a log line (spans included, through the console exporter), an event or a stored
/// row; and SSE_PER_ORG_MAX counts per real organization.
@Suite("Credential secrecy", .serialized)
struct CredentialSecrecyTests {
    @Test("after sign-up, login, refresh, key creation and use, and a turn, no secret is in the logs, spans, events or rows")
    func nothingLeaks() async throws {
        try await PostgresPersistenceTests.withDatabase { url in
            let capture = LogCapture()
            let password = "pw-\(UInt64.random(in: 0...UInt64.max))-secret"
            let environment = PostgresPersistenceTests.environment(url).merging([
                "AUTH_MODE": "full", "AUTH_JWT_SECRET": "jwt-" + String(repeating: "k", count: 40), "AUTH_BCRYPT_COST": "4",
                "OTEL_CONSOLE_EXPORT": "true", "LOG_LEVEL": "trace", "DURABLE_EMBEDDED_EXECUTORS": "2",
            ]) { $1 }
            let configured: [String] = [password, "jwt-" + String(repeating: "k", count: 40)]
            let secrets = try await TestServer.run(environment: environment, logger: capture.logger()) { server in
                var secrets = configured
                let registered = try await server.request(
                    .post, "/v1/auth/register", json: ["email": "leak@example.com", "password": .string(password)])
                let login = try await server.login("leak@example.com", password: password)
                let access = try #require(login.json["access_token"]?.stringValue)
                let refreshed = try await server.request(
                    .post, "/v1/auth/refresh", json: ["refresh_token": login.json["refresh_token"] ?? .null])
                #expect(refreshed.status == 200)
                let key = try await server.request(
                    .post, "/v1/auth/api-keys", json: ["name": "leak"], headers: AuthTest.bearer(access))
                let rawKey = try #require(key.json["key"]?.stringValue)
                for reply in [registered, login, refreshed] {
                    secrets += [reply.json["access_token"]?.stringValue, reply.json["refresh_token"]?.stringValue].compactMap { $0 }
                }
                secrets.append(rawKey)

                let headers: HTTPFields = [.authorization: rawKey]
                let session = try await server.request(.post, "/v1/sessions", json: ["model_id": "sim"], headers: headers)
                let sessionID = try #require(session.json["id"]?.stringValue, "\(session.text)")
                _ = try await server.request(
                    .post, "/v1/sessions/\(sessionID)/messages",
                    json: ["message": ["role": "user", "content": [["type": "text", "text": "hello"]]]], headers: headers)
                var events: [JSONValue] = []
                let deadline = ContinuousClock.now + .seconds(30)
                while ContinuousClock.now < deadline, !events.contains(where: { $0["type"] == "session.idled" }) {
                    try await Task.sleep(for: .milliseconds(50))
                    events = try await server.request(.get, "/v1/sessions/\(sessionID)/events", headers: headers)
                        .json["data"]?.arrayValue ?? []
                }
                #expect(events.contains { $0["type"] == "turn.completed" })
                let eventText = events.map(\.jsonString).joined()
                let me = try await server.request(.get, "/v1/auth/me", headers: headers)
                let keys = try await server.request(.get, "/v1/auth/api-keys", headers: headers)
                for secret in secrets {
                    #expect(!eventText.contains(secret), "an event holds a secret")
                    #expect(!me.text.contains(secret) && !keys.text.contains(secret), "a response holds a secret")
                }
                return secrets
            }
            let logs = capture.lines.joined(separator: "\n")
            #expect(capture.lines.count > 20, "the capture saw the server's logs")
            #expect(logs.contains("gen_ai") || logs.contains("span"), "spans were logged by the console exporter")
            let rows = try await Self.allRows(url)
            #expect(rows.contains { $0.contains("leak@example.com") }, "the rows were read")
            for secret in secrets {
                #expect(!logs.contains(secret), "a log line or span holds a secret (\(secret.prefix(6))…)")
                #expect(!rows.contains { $0.contains(secret) }, "a stored row holds a secret (\(secret.prefix(6))…)")
            }
        }
    }

    @Test("SSE_PER_ORG_MAX counts the streams of each organization separately")
    func streamsPerOrganization() async throws {
        try await TestServer.run(environment: AuthTest.environment(["SSE_PER_ORG_MAX": "1"])) { server in
            let a = try await server.register("sse-a@example.com")
            let b = try await server.register("sse-b@example.com")
            func session(_ account: TestAccount) async throws -> String {
                let reply = try await server.request(.post, "/v1/sessions", json: ["model_id": "sim"], headers: account.headers)
                return try #require(reply.json["id"]?.stringValue)
            }
            var first: SSEReader? = try await SSEReader.open(
                server.baseURL + "/v1/sessions/\(try await session(a))/sse", headers: [("Authorization", "Bearer \(a.accessToken)")])
            #expect(first?.status == 200)
            var other: SSEReader? = try await SSEReader.open(
                server.baseURL + "/v1/sessions/\(try await session(b))/sse", headers: [("Authorization", "Bearer \(b.accessToken)")])
            #expect(other?.status == 200, "another organization has its own allowance")
            let second = try await SSEReader.open(
                server.baseURL + "/v1/sessions/\(try await session(a))/sse", headers: [("Authorization", "Bearer \(a.accessToken)")])
            #expect(second.status == 429, "\(second.bodyText ?? "")")
            first = nil  // disconnects
            other = nil
            _ = (first, other)
        }
    }

    /// Every row of every table in the database, as JSON text.
    static func allRows(_ url: String) async throws -> [String] {
        let components = try #require(URLComponents(string: url))
        let configuration = PostgresClient.Configuration(
            host: components.host ?? "127.0.0.1", port: components.port ?? 5432, username: components.user ?? "postgres",
            password: components.password, database: String(components.path.dropFirst()), tls: .disable)
        let client = PostgresClient(configuration: configuration)
        return try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await client.run() }
            defer { group.cancelAll() }
            var tables: [String] = []
            for try await name in try await client.query(
                "SELECT table_name::text FROM information_schema.tables WHERE table_schema = 'public'"
            ).decode(String.self) {
                tables.append(name)
            }
            var rows: [String] = []
            for table in tables where table.allSatisfy({ $0.isLetter || $0 == "_" }) {
                for try await row in try await client.query(PostgresQuery(unsafeSQL: "SELECT row_to_json(t)::text FROM \(table) t"))
                    .decode(String.self)
                {
                    rows.append(row)
                }
            }
            return rows
        }
    }
}

/// Issue 10: accounts, keys and refresh tokens live in PostgreSQL and survive a restart.
@Suite("Authentication on PostgreSQL", .serialized)
struct AuthPersistenceTests {
    @Test("after a restart the password, the API key and the refresh token still work, and a revoked key stays revoked")
    func survivesRestart() async throws {
        try await PostgresPersistenceTests.withDatabase { url in
            let environment = PostgresPersistenceTests.environment(url).merging([
                "AUTH_MODE": "full", "AUTH_JWT_SECRET": String(repeating: "r", count: 40), "AUTH_BCRYPT_COST": "4",
            ]) { $1 }
            let (account, kept, revoked) = try await TestServer.run(environment: environment) { server in
                let account = try await server.register("restart@example.com")
                let kept = try await server.createKey(account, name: "kept")
                let revoked = try await server.createKey(account, name: "revoked")
                #expect(try await server.request(.delete, "/v1/auth/api-keys/\(revoked.id)", headers: account.headers).status == 204)
                return (account, kept.key, revoked.key)
            }
            try await TestServer.run(environment: environment) { server in
                let login = try await server.login("restart@example.com")
                #expect(login.status == 200)
                let me = try await server.request(.get, "/v1/auth/me", headers: [.authorization: kept])
                #expect(me.json["id"]?.stringValue == account.userID)
                let gone = try await server.request(.get, "/v1/auth/me", headers: [.authorization: revoked])
                #expect(gone.status == 401)
                let access = try await server.request(.get, "/v1/agents", headers: account.headers)
                #expect(access.status == 200, "access tokens signed with the shared secret outlive the instance")
                let refresh = try await server.request(
                    .post, "/v1/auth/refresh", json: ["refresh_token": .string(account.refreshToken)])
                #expect(refresh.status == 200)
            }
        }
    }
}
