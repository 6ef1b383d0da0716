import AsyncHTTPClient
import Foundation
import KeelCore
import NIOCore
import Testing

@Suite("HTTP contract: prefix, CORS, bad input")
struct HTTPContractTests {
    @Test("API_PREFIX moves every route except /health and /api-doc/openapi.json")
    func apiPrefix() async throws {
        try await TestServer.run(environment: ["API_PREFIX": "/api"]) { server in
            #expect(try await server.request(.get, "/health").status == 200)
            #expect(try await server.request(.get, "/api-doc/openapi.json").status == 200)
            #expect(try await server.request(.get, "/api/health").status == 404)
            for path in ["agents", "sessions", "capabilities", "models", "llm-providers", "providers"] {
                #expect(try await server.request(.get, "/api/v1/\(path)").status == 200, "\(path)")
                let unprefixed = try await server.request(.get, "/v1/\(path)")
                #expect(unprefixed.status == 404, "\(path)")
                #expect(unprefixed.json["error"]?["code"] == "route_not_found")
            }
            let sessionID = try #require(try await server.request(.post, "/api/v1/sessions", json: [:]).json["id"]?.stringValue)
            #expect(try await server.request(.get, "/api/v1/sessions/\(sessionID)/events").status == 200)
            #expect(try await server.request(.post, "/api/v1/sessions/\(sessionID)/cancel", json: [:]).status == 200)
        }
    }

    @Test("CORS echoes only listed origins, with credentials, never a wildcard")
    func cors() async throws {
        try await TestServer.run(environment: ["CORS_ALLOWED_ORIGINS": "https://app.example.com,https://admin.example.com"]) {
            server in
            let allowed = try await server.request(.get, "/v1/agents", headers: [.origin: "https://app.example.com"])
            #expect(allowed.headers[.accessControlAllowOrigin] == "https://app.example.com")
            #expect(allowed.headers[.accessControlAllowCredentials] == "true")
            let denied = try await server.request(.get, "/v1/agents", headers: [.origin: "https://evil.example.com"])
            #expect(denied.headers[.accessControlAllowOrigin] == nil)
            let preflight = try await server.request(
                .options, "/v1/agents",
                headers: [.origin: "https://admin.example.com", .accessControlRequestMethod: "POST"])
            #expect(preflight.status == 204)
            #expect(preflight.headers[.accessControlAllowOrigin] == "https://admin.example.com")
            #expect(preflight.headers[.accessControlAllowMethods]?.contains("POST") == true)
            let refused = try await server.request(
                .options, "/v1/agents", headers: [.origin: "https://evil.example.com", .accessControlRequestMethod: "POST"])
            #expect(refused.status == 403)
            #expect(refused.headers[.accessControlAllowOrigin] == nil)
        }
        try await TestServer.run { server in
            let off = try await server.request(.get, "/v1/agents", headers: [.origin: "https://app.example.com"])
            #expect(off.headers[.accessControlAllowOrigin] == nil)
        }
    }

    @Test("bad input gets a 4xx error envelope and stores nothing")
    func badInput() async throws {
        try await TestServer.run { server in
            let before = try await server.request(.get, "/v1/agents").json["total"]?.intValue ?? -1
            let cases: [(String, String, Int, String)] = [
                ("/v1/agents", "{not json", 400, "invalid_body"),
                ("/v1/agents", #"{"name": 42, "system_prompt": "x"}"#, 400, "invalid_body"),
                ("/v1/agents", #"{"system_prompt": "x"}"#, 400, "invalid_body"),
                ("/v1/agents", #"{"name": "Bad Name", "system_prompt": "x"}"#, 400, "invalid_request"),
                ("/v1/agents", #"{"name": "ok", "system_prompt": "x", "max_iterations": 0}"#, 400, "invalid_request"),
                ("/v1/agents", #"{"name": "ok", "system_prompt": "x", "capabilities": [{"ref": "nope"}]}"#, 400, "unknown_capability"),
                ("/v1/agents", #"{"name": "ok", "system_prompt": "x", "default_model_id": "nope/nope"}"#, 404, "model_not_found"),
                ("/v1/agents", "[]", 400, "invalid_body"),
                ("/v1/agents", "", 400, "invalid_request"),
            ]
            for (path, body, status, code) in cases {
                let reply = try await server.request(.post, path, raw: body)
                #expect(reply.status == status, "\(body) → \(reply.text)")
                #expect(reply.json["error"]?["code"]?.stringValue == code, "\(body) → \(reply.text)")
                #expect(reply.json["status"]?.intValue == status)
                #expect(reply.json["error"]?["message"]?.stringValue?.isEmpty == false)
            }
            let typed = try await server.request(.post, "/v1/agents", raw: #"{"name": 42, "system_prompt": "x"}"#)
            #expect(typed.json["error"]?["message"]?.stringValue?.contains("body.name") == true)

            let huge = String(repeating: "x", count: 3 * 1024 * 1024)
            // The 413 comes before the body is read and ends the connection; AsyncHTTPClient reads
            // such an early answer, HummingbirdTesting's client reports its unsent body as an error.
            var request = HTTPClientRequest(url: "\(server.baseURL)/v1/agents")
            request.method = .POST
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(ByteBuffer(string: JSONValue.object(["name": "big", "system_prompt": .string(huge)]).jsonString))
            let oversized = try await HTTPClient.shared.execute(request, timeout: .seconds(10))
            #expect(oversized.status.code == 413)
            #expect(oversized.headers["Connection"].first == "close")
            let envelope = JSONValue.parse(String(buffer: try await oversized.body.collect(upTo: 1 << 20)))
            #expect(envelope?["error"]?["code"] == "payload_too_large")

            #expect(try await server.request(.get, "/v1/agents").json["total"]?.intValue == before)

            let unknown = try await server.request(.get, "/v1/sessions/session_0123456789abcdef0123456789abcdef")
            #expect(unknown.status == 404)
            #expect(unknown.json["error"]?["code"] == "session_not_found")
            let badID = try await server.request(.get, "/v1/sessions/session_xyz")
            #expect(badID.status == 400)
            #expect(badID.json["error"]?["code"] == "invalid_id")
            #expect(try await server.request(.get, "/v1/agents/agent_0123456789abcdef0123456789abcdef").status == 404)
            #expect(try await server.request(.get, "/v1/agents?limit=0").status == 400)
            #expect(try await server.request(.get, "/v1/nothing-here").json["error"]?["code"] == "route_not_found")

            let sessionID = try await server.createSession()
            let badMessages: [String] = [
                #"{"message": {"role": "agent", "content": [{"type": "text", "text": "hi"}]}}"#,
                #"{"message": {"role": "user", "content": []}}"#,
                #"{"message": {"role": "user", "content": [{"type": "video", "url": "x"}]}}"#,
                #"{"message": {"role": "user", "content": "hi"}}"#,
                #"{"content": "hi"}"#,
            ]
            for body in badMessages {
                let reply = try await server.request(.post, "/v1/sessions/\(sessionID)/messages", raw: body)
                #expect(reply.status == 400, "\(body) → \(reply.text)")
                #expect(reply.json["error"]?["code"] != nil)
            }
            let events = try await server.events(sessionID)
            #expect(events.types == ["session.started"], "nothing stored for rejected messages")
            #expect(try await server.request(.get, "/v1/sessions/\(sessionID)/events?limit=5000").status == 400)
            #expect(try await server.request(.get, "/v1/sessions/\(sessionID)/events?since_id=event_zz").status == 400)
        }
    }

    @Test("agents: upsert by name, archive on delete, hidden from the default list")
    func agentLifecycle() async throws {
        try await TestServer.run { server in
            let created = try await server.request(.post, "/v1/agents", json: ["name": "helper", "system_prompt": "v1"])
            #expect(created.status == 201)
            let id = try #require(created.json["id"]?.stringValue)
            let upserted = try await server.request(.post, "/v1/agents", json: ["name": "helper", "system_prompt": "v2"])
            #expect(upserted.status == 200)
            #expect(upserted.json["id"]?.stringValue == id)
            #expect(upserted.json["system_prompt"] == "v2")
            let byName = try await server.request(.get, "/v1/agents/helper")
            #expect(byName.json["id"]?.stringValue == id)
            let patched = try await server.request(.patch, "/v1/agents/\(id)", json: ["description": "patched"])
            #expect(patched.json["description"] == "patched")
            #expect(try await server.request(.delete, "/v1/agents/\(id)").status == 204)
            #expect(try await server.request(.get, "/v1/agents/\(id)").json["status"] == "archived")
            let listed = try await server.request(.get, "/v1/agents").json["data"]?.arrayValue ?? []
            #expect(!listed.contains { $0["id"]?.stringValue == id })
            let withArchived = try await server.request(.get, "/v1/agents?include_archived=true").json["data"]?.arrayValue ?? []
            #expect(withArchived.contains { $0["id"]?.stringValue == id })
            let refused = try await server.request(.post, "/v1/sessions", json: ["agent_id": .string(id)])
            #expect(refused.status == 400)
        }
    }

    @Test("DEPLOYMENT_GRADE gates experimental capabilities and seed agents")
    func deploymentGrade() async throws {
        try await TestServer.run(environment: ["DEPLOYMENT_GRADE": "dev"]) { server in
            let capabilities = try await server.request(.get, "/v1/capabilities").json["data"]?.arrayValue ?? []
            #expect(capabilities.contains { $0["id"] == "python" })
            #expect(try await server.request(.get, "/v1/agents/python-coder").status == 200)
            #expect(try await server.request(.get, "/v1/agents/assistant").status == 200)
        }
        try await TestServer.run(environment: ["DEPLOYMENT_GRADE": "prod"]) { server in
            let capabilities = try await server.request(.get, "/v1/capabilities").json["data"]?.arrayValue ?? []
            let ids = capabilities.compactMap { $0["id"]?.stringValue }
            #expect(!ids.contains("python"))
            for id in ["current_time", "session_file_system", "web_fetch", "stateless_todo_list", "test_math"] {
                #expect(ids.contains(id), "\(id)")
            }
            #expect(try await server.request(.get, "/v1/capabilities/python").status == 404)
            #expect(try await server.request(.get, "/v1/agents/python-coder").status == 404)
            #expect(try await server.request(.get, "/v1/agents/assistant").status == 200)
        }
    }
}
