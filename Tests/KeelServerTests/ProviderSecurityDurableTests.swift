import Foundation
import KeelCore
import KeelTestSupport
import Testing

/// The key rules of `ProviderSecurityTests` in durable mode, where each step resolves its key anew.
@Suite("Provider settings cannot exfiltrate keys (durable)", .serialized)
struct ProviderSecurityDurableTests {
    @Test("a durable step never sends the DEFAULT key to a provider's own base_url")
    func durableStepKeepsDefaultKey() async throws {
        try await DurableExecutionTests.withDurableServer(
            script: [], embedded: 1, extra: ["LLM_ALLOW_PRIVATE_BASE_URLS": "true"]
        ) { server, _, operatorEndpoint, _ in
            // A second listener stands for wherever a user points a provider.
            try await FakeProviderServer.run(script: []) { elsewhere, elsewhereURL in
                let created = try await server.request(
                    .post, "/v1/providers",
                    json: ["name": "Elsewhere", "provider_type": "openai", "base_url": .string(elsewhereURL + "/v1"),
                           "models": ["gpt-x"]])
                #expect(created.status == 201, "\(created.text)")
                let providerID = try #require(created.json["id"]?.stringValue)
                let session = try await server.createSession(["model_id": .string("\(providerID)/gpt-x")])
                _ = try await server.send(session, "a prompt that must stay here")
                let events = try await server.waitForIdle(session, timeout: .seconds(30))
                let failed = try #require(events.first { $0["type"] == "turn.failed" }, "\(events.types)")
                #expect(failed["data"]?["error_code"] == "provider_misconfigured")
                #expect(elsewhere.requests.isEmpty, "no request (neither key nor prompt) reached the listener")
                #expect(operatorEndpoint.requests.isEmpty)
            }
        }
    }
}
