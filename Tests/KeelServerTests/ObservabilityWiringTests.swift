import Foundation
import KeelCore
import KeelServer
import Testing

@Suite("Observability wiring")
struct ObservabilityWiringTests {
    @Test("ENABLE_PROMETHEUS_METRICS serves /metrics (never prefixed) with turn, LLM and tool samples")
    func prometheus() async throws {
        try await TestServer.run(environment: ["ENABLE_PROMETHEUS_METRICS": "true", "API_PREFIX": "/api"]) { server in
            let agent = try await server.request(
                .post, "/api/v1/agents", json: ["name": "m", "system_prompt": "x", "capabilities": [["ref": "test_math"]]])
            let session = try await server.request(.post, "/api/v1/sessions", json: ["agent_id": agent.json["id"] ?? nil])
            let sessionID = try #require(session.json["id"]?.stringValue)
            _ = try await server.request(
                .post, "/api/v1/sessions/\(sessionID)/messages",
                json: ["message": ["content": [["type": "text", "text": #"[[tool:add {"a":1,"b":2}]]"#]]]])
            let deadline = ContinuousClock.now + .seconds(30)  // the turn runs asynchronously
            var text = ""
            while ContinuousClock.now < deadline {
                text = try await server.request(.get, "/metrics").text
                if text.contains("keel_turns_total{outcome=\"completed\"} 1") { break }
                try await Task.sleep(for: .milliseconds(20))
            }
            #expect(text.contains("keel_turns_total{outcome=\"completed\"} 1"), "\(text.prefix(2000))")
            #expect(text.contains("keel_tool_calls_total{tool=\"add\",outcome=\"success\"} 1"))
            #expect(text.contains("keel_llm_calls_total"))
            #expect(text.contains("keel_http_requests_total"))
            #expect(text.contains("route=\"/api/v1/sessions/{id}/messages\""))
            let prefixed = try await server.request(.get, "/api/metrics")
            #expect(prefixed.status == 404)
        }
        try await TestServer.run { server in
            let off = try await server.request(.get, "/metrics")
            #expect(off.status == 404, "off by default")
        }
    }

    @Test("malformed observability settings stop start-up naming the variable")
    func configuration() throws {
        let cases: [([String: String], String)] = [
            (["OTEL_TARGETS": "LANGFUSE"], "LANGFUSE_PUBLIC_KEY"),
            (["ENABLE_PROMETHEUS_METRICS": "sometimes"], "ENABLE_PROMETHEUS_METRICS"),
            (["BRAINTRUST_API_KEY": "sk-bt-secret", "BRAINTRUST_MAX_BATCH_SIZE": "lots"], "BRAINTRUST_MAX_BATCH_SIZE"),
        ]
        for (environment, variable) in cases {
            do {
                _ = try KeelConfiguration(environment: environment.merging(["DEV_MODE": "1"]) { $1 })
                Issue.record("expected \(variable) to be rejected")
            } catch {
                #expect(error.variable == variable, "\(error)")
                #expect(!error.description.contains("sk-bt-secret"))
            }
        }
    }
}
