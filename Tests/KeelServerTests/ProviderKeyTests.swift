import Foundation
import KeelCore
import KeelServer
import Synchronization
import Testing

/// Records the credentials each call was made with, and answers with fixed text.
final class KeyRecordingDriver: LLMDriver {
    let seen = Mutex<[String?]>([])

    func generate(
        _ request: LLMRequest, endpoint: LLMEndpoint, onDelta: @Sendable (LLMDelta) async throws -> Void
    ) async throws -> LLMResponse {
        seen.withLock { $0.append(endpoint.apiKey) }
        guard endpoint.apiKey != nil else { throw LLMError.missingAPIKey(provider: endpoint.providerType) }
        try await onDelta(.text("ok"))
        return LLMResponse(text: "ok", usage: Usage(inputTokens: 1, outputTokens: 1))
    }
}

@Suite("Provider keys")
struct ProviderKeyTests {
    static let secret = "sk-test-SECRET-value-1234567890"

    @Test("stored keys are encrypted, never returned, and win over DEFAULT_*_API_KEY")
    func storedKeyPrecedence() async throws {
        let driver = KeyRecordingDriver()
        try await TestServer.run(
            environment: ["DEFAULT_OPENAI_API_KEY": "sk-env-fallback"],
            overrides: .init(driver: { _ in driver }, deltaBatchInterval: .zero)
        ) { server in
            // Built-in provider: no stored key, so the environment fallback is used.
            let envSession = try await server.createSession(["model_id": "openai/gpt-4o-mini"])
            _ = try await server.send(envSession, "hi")
            try await server.waitForIdle(envSession)
            #expect(driver.seen.withLock { $0 } == ["sk-env-fallback"])

            let created = try await server.request(
                .post, "/v1/llm-providers",
                json: ["name": "My OpenAI", "provider_type": "openai", "api_key": .string(Self.secret), "models": ["gpt-x"]])
            #expect(created.status == 201, "\(created.text)")
            #expect(created.json["api_key_set"] == true)
            #expect(!created.text.contains(Self.secret))
            let providerID = try #require(created.json["id"]?.stringValue)
            for path in ["/v1/llm-providers", "/v1/providers", "/v1/providers/\(providerID)", "/v1/models"] {
                let reply = try await server.request(.get, path)
                #expect(reply.status == 200)
                #expect(!reply.text.contains(Self.secret), "\(path)")
            }

            let session = try await server.createSession(["model_id": .string("\(providerID)/gpt-x")])
            _ = try await server.send(session, "hi")
            let events = try await server.waitForIdle(session)
            #expect(driver.seen.withLock { $0.last } == Self.secret)
            #expect(!events.map(\.jsonString).joined().contains(Self.secret))
            // `openai/…` stays with the operator's built-in provider: creating a provider does not
            // capture references meant for it.
            let byType = try await server.createSession(["model_id": "openai/gpt-x"])
            _ = try await server.send(byType, "hi")
            try await server.waitForIdle(byType)
            #expect(driver.seen.withLock { $0.last } == "sk-env-fallback")

            let cleared = try await server.request(.patch, "/v1/llm-providers/\(providerID)", json: ["api_key": nil])
            #expect(cleared.json["api_key_set"] == true, "the environment fallback still applies")
            _ = try await server.send(session, "again")
            try await server.waitForIdle(session, turns: 2)
            #expect(driver.seen.withLock { $0.last } == "sk-env-fallback")

            #expect(try await server.request(.delete, "/v1/providers/\(providerID)").status == 204)
            #expect(try await server.request(.get, "/v1/providers/\(providerID)").status == 404)
        }
    }

    @Test("without any key a provider reports api_key_set false and turns fail cleanly")
    func noKey() async throws {
        try await TestServer.run { server in
            let providers = try await server.request(.get, "/v1/providers").json["data"]?.arrayValue ?? []
            let anthropic = try #require(providers.first { $0["provider_type"] == "anthropic" })
            #expect(anthropic["api_key_set"] == false)
            let sim = try #require(providers.first { $0["provider_type"] == "llmsim" })
            #expect(sim["api_key_set"] == true)
            let bad = try await server.request(.post, "/v1/providers", json: ["name": "x", "provider_type": "nope"])
            #expect(bad.status == 400)
        }
    }
}

@Suite("Models")
struct ModelTests {
    @Test("models list the fields the SDK requires, and each one can be fetched by its id")
    func models() async throws {
        try await TestServer.run { server in
            let list = try await server.request(.get, "/v1/models").json["data"]?.arrayValue ?? []
            let sim = try #require(list.first { $0["id"] == "llmsim/sim" })
            for field in ["capabilities", "healthy", "is_favorite", "created_at", "updated_at", "provider_id", "model_id"] {
                #expect(sim[field] != nil, "\(field)")
            }
            #expect(try await server.request(.get, "/v1/models/llmsim/sim").json["model_id"] == "sim")
            #expect(try await server.request(.get, "/v1/models/openai%2Fgpt-4o-mini").json["provider_type"] == "openai")
            #expect(try await server.request(.get, "/v1/models/nope/nope").status == 404)
        }
    }
}
