import Foundation
import KeelCore
import Hummingbird
import Testing

/// Issue 8 item 13: a wrong method on a known path is a 405 with `Allow`, an unknown path stays 404.
@Suite("Method not allowed")
struct MethodNotAllowedTests {
    @Test("a known path with a wrong method answers 405 with the envelope and Allow")
    func wrongMethodOnKnownPath() async throws {
        try await TestServer.run(environment: ["API_PREFIX": "/api"]) { server in
            let sessionID = try await server.createSession(at: "/api")
            let cases: [(method: HTTPRequest.Method, path: String, allowed: String)] = [
                (.put, "/api/v1/agents", "GET, POST"),
                (.delete, "/api/v1/models", "GET"),
                (.post, "/health", "GET"),
                (.put, "/api/v1/sessions/\(sessionID)/messages", "GET, POST"),
            ]
            for (method, path, allowed) in cases {
                let reply = try await server.request(method, path)
                #expect(reply.status == 405, "\(method) \(path)")
                #expect(reply.headers[.allow] == allowed, "\(method) \(path)")
                #expect(reply.json["error"]?["code"] == "method_not_allowed")
                #expect(reply.json["status"] == 405)
            }
            for path in ["/api/v1/nothing-here", "/v1/agents", "/api/v1/sessions/\(sessionID)/nothing"] {
                let reply = try await server.request(.put, path)
                #expect(reply.status == 404, "\(path)")
                #expect(reply.json["error"]?["code"] == "route_not_found")
                #expect(reply.headers[.allow] == nil)
            }
        }
    }
}

extension TestServer {
    func createSession(at prefix: String) async throws -> String {
        let reply = try await request(.post, "\(prefix)/v1/sessions", json: [:])
        #expect(reply.status == 201, "\(reply.text)")
        return reply.json["id"]?.stringValue ?? ""
    }
}
