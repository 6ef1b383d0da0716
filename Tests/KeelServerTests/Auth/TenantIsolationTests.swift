import Foundation
import HTTPTypes
import KeelCore
import KeelServer
import Testing

/// Issue 10's isolation matrix, generated from the router's own route list: every route that
/// reads or changes a resource is called by a member of organization B with organization A's ids,
/// must answer 404, and must change nothing (checked by reading everything back as A). A route
/// the matrix does not know fails the test, so a new route cannot be forgotten.
@Suite("Tenant isolation", .serialized)
struct TenantIsolationTests {
    /// What the matrix does with a route.
    enum Role: Equatable {
        /// Needs no credential or holds no tenant data (health, OpenAPI, metrics, sign-in, catalogue).
        case outOfScope
        /// A list of the caller's organization: B's answer must not mention A's ids.
        case list
        /// Creates in the caller's organization (covered by the resource routes and `list`).
        case create
        /// Addresses one of A's resources by id: 404 for B, and nothing changes.
        case resource
    }

    static func role(of route: String) -> Role? {
        let parts = route.split(separator: " ", maxSplits: 1)
        guard parts.count == 2 else { return nil }
        let (method, path) = (String(parts[0]), String(parts[1]))
        let outOfScope = [
            "/health", "/api-doc/openapi.json", "/metrics", "/v1/auth/config", "/v1/auth/register", "/v1/auth/login",
            "/v1/auth/refresh", "/v1/auth/logout", "/v1/auth/oauth/{provider}", "/v1/auth/callback/{provider}",
            "/v1/auth/me", "/v1/capabilities", "/v1/capabilities/{id}", "/v1/orgs", "/info", "/", "/assets/{version}/{file}",
            // The platform's: workers hold no tenant data, and only platform administrators reach
            // them (DurableOperationsTests checks the 403s); the monitoring stream is scoped like
            // the lists (checked there too).
            "/v1/durable/workers", "/v1/durable/workers/{worker_id}", "/v1/durable/workers/{worker_id}/drain",
            "/v1/durable/workers/{worker_id}/undrain", "/v1/durable/monitor/sse",
        ]
        if outOfScope.contains(path) { return .outOfScope }
        if path.contains("{") || path.hasSuffix("**") { return .resource }
        switch (method, path) {
        case ("GET", "/v1/agents"), ("GET", "/v1/sessions"), ("GET", "/v1/providers"), ("GET", "/v1/llm-providers"),
            ("GET", "/v1/models"), ("GET", "/v1/auth/api-keys"), ("GET", "/v1/orgs/current/members"),
            ("GET", "/assistants"), ("POST", "/assistants/search"), ("POST", "/assistants/count"), ("POST", "/threads/search"),
            ("POST", "/threads/count"), ("GET", "/v1/durable/queue"), ("GET", "/v1/durable/turns"),
            ("GET", "/v1/durable/tasks"), ("GET", "/v1/durable/dead-letters"), ("GET", "/v1/durable/circuit-breakers"):
            return .list
        case ("POST", "/v1/agents"), ("POST", "/v1/sessions"), ("POST", "/v1/providers"), ("POST", "/v1/llm-providers"),
            ("POST", "/v1/auth/api-keys"), ("POST", "/v1/orgs/current/members"), ("POST", "/assistants"),
            ("POST", "/threads"), ("POST", "/runs"), ("POST", "/runs/stream"), ("POST", "/runs/wait"):
            return .create
        default:
            return nil
        }
    }

    /// Organization A's resources.
    struct Fixture {
        var agentID: String
        var sessionID: String
        var providerID: String
        var modelID: String
        var keyID: String
        var userID: String
        /// The turn of A's message: a run of A's session, which is a thread.
        var turnID: String
        var eventID: String
        /// A step of that turn (PostgreSQL; a well-formed unknown id in memory, where there are none).
        var taskID: String

        /// The concrete path of `pattern` with A's ids.
        func path(_ pattern: String) -> String? {
            var path = pattern
            if path.hasPrefix("/v1/agents/") { path = path.replacingOccurrences(of: "{id}", with: agentID) }
            if path.hasPrefix("/v1/sessions/") { path = path.replacingOccurrences(of: "{id}", with: sessionID) }
            if path.hasPrefix("/v1/providers/") || path.hasPrefix("/v1/llm-providers/") {
                path = path.replacingOccurrences(of: "{id}", with: providerID)
            }
            if path.hasPrefix("/v1/models/") {
                path = "/v1/models/" + (modelID.addingPercentEncoding(withAllowedCharacters: .urlPathAllowed) ?? modelID)
            }
            path = path.replacingOccurrences(of: "{key_id}", with: keyID).replacingOccurrences(of: "{user_id}", with: userID)
            // The Agent Protocol names A's agent as its default assistant and A's session as a thread.
            path = path.replacingOccurrences(of: "{assistant_id}", with: agentID)
                .replacingOccurrences(of: "{thread_id}", with: sessionID).replacingOccurrences(of: "{run_id}", with: turnID)
                .replacingOccurrences(of: "{checkpoint_id}", with: eventID)
                .replacingOccurrences(of: "{turn_id}", with: turnID).replacingOccurrences(of: "{task_id}", with: taskID)
                .replacingOccurrences(of: "{key}", with: "external:openai:\(providerID):a-model")
            return path.contains("{") || path.contains("*") ? nil : path
        }
    }

    /// A plausible body for a changing request, so a missing check cannot hide behind a 400.
    static func body(_ method: String, _ pattern: String, _ fixture: Fixture) -> JSONValue? {
        switch (method, pattern) {
        case ("POST", "/threads/{thread_id}/runs"), ("POST", "/threads/{thread_id}/runs/stream"),
            ("POST", "/threads/{thread_id}/runs/wait"):
            return [
                "assistant_id": .string(fixture.agentID), "multitask_strategy": "enqueue",
                "input": ["messages": [["role": "human", "content": "B was here"]]],
            ]
        case ("PATCH", "/threads/{thread_id}"), ("PATCH", "/assistants/{assistant_id}"): return ["metadata": ["owner": "B"]]
        case ("POST", "/assistants/{assistant_id}/latest"): return ["version": 1]
        case ("PUT", "/v1/agents/{id}"): return ["name": "hijacked", "system_prompt": "owned by B"]
        case ("PATCH", "/v1/agents/{id}"): return ["name": "hijacked", "system_prompt": "owned by B"]
        case ("PATCH", "/v1/sessions/{id}"): return ["title": "hijacked"]
        case ("POST", "/v1/sessions/{id}/messages"):
            return ["message": ["role": "user", "content": [["type": "text", "text": "B was here"]]]]
        case ("PATCH", _) where pattern.contains("providers"): return ["name": "hijacked", "api_key": "sk-hijack"]
        default: return nil
        }
    }

    @Test("B using A's ids gets 404 on every resource route and changes nothing (in memory)")
    func memory() async throws {
        try await Self.check(environment: AuthTest.environment())
    }

    @Test("B using A's ids gets 404 on every resource route and changes nothing (PostgreSQL)")
    func postgres() async throws {
        try await PostgresPersistenceTests.withDatabase { url in
            try await Self.check(
                environment: PostgresPersistenceTests.environment(url).merging([
                    "AUTH_MODE": "full", "AUTH_JWT_SECRET": String(repeating: "j", count: 40), "AUTH_BCRYPT_COST": "4",
                ]) { $1 })
        }
    }

    static func check(environment: [String: String]) async throws {
        let routes = try await KeelServer.routeList(
            configuration: KeelConfiguration(environment: ["DEV_MODE": "1"].merging(AuthTest.environment()) { $1 }))
        #expect(routes.count > 30, "the route list is the router's: \(routes)")
        let unknown = routes.filter { role(of: $0) == nil }
        #expect(unknown.isEmpty, "routes missing from the isolation matrix: \(unknown)")

        try await TestServer.run(environment: environment) { server in
            let a = try await server.register("a@tenant.example")
            let b = try await server.register("b@tenant.example")
            let fixture = try await makeFixture(server, a)
            // The ids are A's for real: A reads every Agent Protocol resource with them, so B's
            // 404s below are not the 404 of a wrong run or checkpoint id.
            for route in routes where role(of: route) == .resource && route.hasPrefix("GET /") && !route.hasPrefix("GET /v1/") {
                let parts = route.split(separator: " ", maxSplits: 1).map(String.init)
                guard let path = fixture.path(parts[1]) else { continue }
                let reply = try await server.request(.get, path, headers: a.headers)
                #expect(reply.status == 200, "\(route) as A on A's resource: \(reply.status) \(reply.text)")
            }
            let before = try await snapshot(server, a, fixture)

            for route in routes where role(of: route) == .resource {
                let parts = route.split(separator: " ", maxSplits: 1).map(String.init)
                let method = HTTPRequest.Method(parts[0]) ?? .get
                guard let path = fixture.path(parts[1]) else {
                    Issue.record("no A id for \(route)")
                    continue
                }
                if path.hasSuffix("/sse") {
                    let stream = try await SSEReader.open(server.baseURL + path, headers: [("Authorization", "Bearer \(b.accessToken)")])
                    #expect(stream.status == 404, "\(route): \(stream.bodyText ?? "")")
                    continue
                }
                let reply = try await server.request(method, path, json: body(parts[0], parts[1], fixture), headers: b.headers)
                #expect(reply.status == 404, "\(route) as B on A's resource: \(reply.status) \(reply.text)")
                #expect(reply.json["error"]?["code"] != nil, "\(route): one error envelope")
            }
            // Creating with A's id is not a way in either.
            let reuse = try await server.request(
                .post, "/v1/agents", json: ["id": .string(fixture.agentID), "name": "copy", "system_prompt": "x"], headers: b.headers)
            #expect(reuse.status == 404 || reuse.status == 409, "\(reuse.text)")
            // Nor is naming A's agent as the assistant of a stateless run, or as the graph of a new assistant.
            for path in ["/runs", "/runs/wait", "/runs/stream"] {
                let run = try await server.request(
                    .post, path, json: body("POST", "/threads/{thread_id}/runs", fixture), headers: b.headers)
                #expect(run.status == 404, "POST \(path) as B with A's assistant: \(run.status) \(run.text)")
            }
            for graph in [fixture.agentID, "secret-agent"] {
                let assistant = try await server.request(
                    .post, "/assistants", json: ["graph_id": .string(graph)], headers: b.headers)
                #expect(assistant.status == 404, "POST /assistants as B with A's graph \(graph): \(assistant.status) \(assistant.text)")
            }

            for route in routes where role(of: route) == .list {
                let parts = route.split(separator: " ", maxSplits: 1).map(String.init)
                let method = HTTPRequest.Method(parts[0]) ?? .get
                let reply = try await server.request(method, parts[1], json: method == .post ? [:] : nil, headers: b.headers)
                // DEV_MODE has no durable queue: its operations lists answer 404 durable_unavailable.
                let unavailable = reply.status == 404 && reply.json["error"]?["code"] == "durable_unavailable"
                #expect(reply.status == 200 || unavailable, "\(route): \(reply.status) \(reply.text)")
                for id in [
                    fixture.agentID, fixture.sessionID, fixture.providerID, fixture.modelID, fixture.keyID, a.userID, fixture.turnID,
                    fixture.eventID, fixture.taskID,
                ] {
                    #expect(!reply.text.contains(id), "\(route) as B lists A's \(id)")
                }
            }

            let after = try await snapshot(server, a, fixture)
            #expect(after == before, "A's data is unchanged after B's attempts")
        }
    }

    static func makeFixture(_ server: TestServer, _ a: TestAccount) async throws -> Fixture {
        let agent = try await server.request(
            .post, "/v1/agents", json: ["name": "secret-agent", "system_prompt": "A's prompt"], headers: a.headers)
        let agentID = try #require(agent.json["id"]?.stringValue, "\(agent.text)")
        let session = try await server.request(
            .post, "/v1/sessions", json: ["agent_id": .string(agentID), "title": "A's session"], headers: a.headers)
        let sessionID = try #require(session.json["id"]?.stringValue, "\(session.text)")
        let message = try await server.request(
            .post, "/v1/sessions/\(sessionID)/messages",
            json: ["message": ["role": "user", "content": [["type": "text", "text": "hello"]]]], headers: a.headers)
        #expect(message.status == 201 || message.status == 200 || message.status == 202, "\(message.text)")
        try await waitForIdle(server, a, sessionID)
        let provider = try await server.request(
            .post, "/v1/providers", json: ["name": "A's provider", "provider_type": "openai", "api_key": "sk-tenant-a", "models": ["a-model"]],
            headers: a.headers)
        let providerID = try #require(provider.json["id"]?.stringValue, "\(provider.text)")
        let key = try await server.createKey(a, name: "A's key")
        let events = try await server.request(.get, "/v1/sessions/\(sessionID)/events", headers: a.headers)
        let started = events.json["data"]?.arrayValue?.first { $0["type"] == "turn.started" }
        let turnID = try #require(started?["context"]?["turn_id"]?.stringValue, "\(events.text)")
        let eventID = try #require(started?["id"]?.stringValue)
        let turn = try await server.request(.get, "/v1/durable/turns/\(turnID)", headers: a.headers)
        let taskID = turn.json["steps"]?.arrayValue?.first?["id"]?.stringValue ?? PublicID.make(.task)
        return Fixture(
            agentID: agentID, sessionID: sessionID, providerID: providerID, modelID: "\(providerID)/a-model", keyID: key.id,
            userID: a.userID, turnID: turnID, eventID: eventID, taskID: taskID)
    }

    static func waitForIdle(_ server: TestServer, _ a: TestAccount, _ sessionID: String) async throws {
        let deadline = ContinuousClock.now + .seconds(30)
        while ContinuousClock.now < deadline {
            let events = try await server.request(.get, "/v1/sessions/\(sessionID)/events", headers: a.headers)
            if events.json["data"]?.arrayValue?.contains(where: { $0["type"] == "session.idled" }) == true { return }
            try await Task.sleep(for: .milliseconds(20))
        }
        Issue.record("A's turn did not finish")
    }

    /// Everything of A's that B's requests could have changed, read as A.
    static func snapshot(_ server: TestServer, _ a: TestAccount, _ fixture: Fixture) async throws -> [String: JSONValue] {
        var reads: [String: JSONValue] = [:]
        for path in [
            "/v1/agents/\(fixture.agentID)", "/v1/sessions/\(fixture.sessionID)", "/v1/sessions/\(fixture.sessionID)/events",
            "/v1/sessions/\(fixture.sessionID)/messages", "/v1/providers/\(fixture.providerID)", "/v1/auth/api-keys",
            "/v1/orgs/current/members", "/threads/\(fixture.sessionID)/state", "/threads/\(fixture.sessionID)/runs",
            "/assistants/\(fixture.agentID)",
        ] {
            let reply = try await server.request(.get, path, headers: a.headers)
            #expect(reply.status == 200, "\(path) as A: \(reply.text)")
            // last_used_at moves with every request of A's own; it is not B's doing.
            reads[path] = reply.json.removingKeys(["last_used_at", "updated_at"])
        }
        return reads
    }
}

extension JSONValue {
    /// The value with these keys removed at every depth.
    func removingKeys(_ keys: Set<String>) -> JSONValue {
        switch self {
        case .object(let object):
            var copy: [String: JSONValue] = [:]
            for (key, value) in object where !keys.contains(key) { copy[key] = value.removingKeys(keys) }
            return .object(copy)
        case .array(let array):
            return .array(array.map { $0.removingKeys(keys) })
        default:
            return self
        }
    }
}
