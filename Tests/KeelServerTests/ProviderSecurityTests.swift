import Foundation
import KeelCore
import KeelEngine
import KeelLLM
import KeelSecrets
import KeelServer
import KeelStorage
import KeelTestSupport
import Logging
import Testing

/// Issue 8 item 1: a provider setting must not send the operator's `DEFAULT_*` key or users'
/// prompts anywhere the operator did not configure.
@Suite("Provider settings cannot exfiltrate keys")
struct ProviderSecurityTests {
    static let operatorKey = "sk-operator-DEFAULT-key-0042"

    @Test("a provider with its own base_url and no key never receives the DEFAULT key; the turn fails cleanly")
    func defaultKeyStaysWithOperatorEndpoint() async throws {
        try await FakeProviderServer.run(script: []) { fake, baseURL in
            let environment = ["DEFAULT_OPENAI_API_KEY": Self.operatorKey, "LLM_ALLOW_PRIVATE_BASE_URLS": "true"]
            try await TestServer.run(environment: environment) { server in
                let created = try await server.request(
                    .post, "/v1/providers",
                    json: ["name": "Elsewhere", "provider_type": "openai", "base_url": .string(baseURL + "/v1"),
                           "models": ["gpt-x"]])
                #expect(created.status == 201, "\(created.text)")
                #expect(created.json["api_key_set"] == false, "the default key does not apply to this endpoint")
                let providerID = try #require(created.json["id"]?.stringValue)

                let session = try await server.createSession(["model_id": .string("\(providerID)/gpt-x")])
                _ = try await server.send(session, "a prompt that must stay here")
                let events = try await server.waitForIdle(session)
                let failed = try #require(events.first { $0["type"] == "turn.failed" }, "\(events)")
                #expect(failed["data"]?["error_code"] == "provider_misconfigured")
                let messages = try await server.request(.get, "/v1/sessions/\(session)/messages")
                #expect(messages.text.contains(UserFacingText.llmFailure))
                #expect(fake.requests.isEmpty, "no request (and so neither key nor prompt) reached the listener")

                // The operator's endpoint spelled differently is still the operator's endpoint.
                let same = try await server.request(
                    .post, "/v1/providers",
                    json: ["name": "Same", "provider_type": "openai", "base_url": "HTTPS://api.openai.com:443/v1/"])
                #expect(same.json["api_key_set"] == true, "\(same.text)")
            }
        }
    }

    @Test("built-in providers are read-only: PATCH is refused with the error envelope")
    func builtInsAreReadOnly() async throws {
        try await TestServer.run { server in
            let providers = try await server.request(.get, "/v1/providers").json["data"]?.arrayValue ?? []
            let openai = try #require(providers.first { $0["provider_type"] == "openai" && $0["is_builtin"] == true })
            let id = try #require(openai["id"]?.stringValue)
            for body: JSONValue in [["base_url": "https://attacker.example/v1"], ["status": "disabled"], ["name": "x"]] {
                let patched = try await server.request(.patch, "/v1/llm-providers/\(id)", json: body)
                #expect(patched.status == 400, "\(patched.text)")
                #expect(patched.json["error"]?["code"] == "builtin_provider")
                #expect(patched.json["error"]?["message"]?.stringValue?.contains("read-only") == true)
            }
            let after = try await server.request(.get, "/v1/providers/\(id)")
            #expect(after.json["base_url"] == nil || after.json["base_url"] == .null)
            #expect(after.json["status"] == "active")
        }
    }

    @Test("a base_url on a private, loopback or link-local address is refused unless the operator allows it")
    func baseURLAddressPolicy() async throws {
        let refused = ["http://127.0.0.1:9/v1", "http://10.1.2.3/v1", "http://169.254.169.254/latest", "http://[::1]:8080"]
        try await TestServer.run(environment: ["OPENAI_BASE_URL": "http://127.0.0.1:4010/v1"]) { server in
            for url in refused {
                let created = try await server.request(
                    .post, "/v1/providers", json: ["name": "p", "provider_type": "openai", "base_url": .string(url)])
                #expect(created.status == 400, "\(url): \(created.text)")
                #expect(created.json["error"]?["code"] == "base_url_not_allowed")
                #expect(created.json["error"]?["message"]?.stringValue?.contains("base_url") == true)
            }
            // A public literal address passes; moving it to a private one by PATCH does not.
            let publicProvider = try await server.request(
                .post, "/v1/providers", json: ["name": "p", "provider_type": "anthropic", "base_url": "https://8.8.8.8"])
            #expect(publicProvider.status == 201, "\(publicProvider.text)")
            let id = try #require(publicProvider.json["id"]?.stringValue)
            let patched = try await server.request(.patch, "/v1/providers/\(id)", json: ["base_url": "http://10.0.0.7"])
            #expect(patched.status == 400, "\(patched.text)")
            #expect(try await server.request(.get, "/v1/providers/\(id)").json["base_url"] == "https://8.8.8.8")
            // The operator's own OPENAI_BASE_URL is trusted even on loopback.
            let operatorURL = try await server.request(
                .post, "/v1/providers",
                json: ["name": "p", "provider_type": "openai", "base_url": "http://127.0.0.1:4010/v1"])
            #expect(operatorURL.status == 201, "\(operatorURL.text)")
        }
        try await TestServer.run(environment: ["LLM_ALLOW_PRIVATE_BASE_URLS": "true"]) { server in
            for url in refused {
                let created = try await server.request(
                    .post, "/v1/providers", json: ["name": "p", "provider_type": "openai", "base_url": .string(url)])
                #expect(created.status == 201, "\(url): \(created.text)")
            }
        }
    }

    @Test("LLM_ALLOW_PRIVATE_BASE_URLS defaults to false and refuses a malformed value")
    func allowFlagConfiguration() throws {
        #expect(try KeelConfiguration(environment: ["DEV_MODE": "1"]).llmAllowPrivateBaseURLs == false)
        #expect(try KeelConfiguration(environment: ["DEV_MODE": "1", "LLM_ALLOW_PRIVATE_BASE_URLS": "true"]).llmAllowPrivateBaseURLs)
        #expect(throws: ConfigurationError.self) {
            try KeelConfiguration(environment: ["DEV_MODE": "1", "LLM_ALLOW_PRIVATE_BASE_URLS": "sometimes"])
        }
    }

    @Test("the operator endpoints the default keys go to are the drivers' built-in endpoints")
    func builtInEndpointsMatchDrivers() {
        #expect(EngineConfiguration.builtInBaseURLs[.openai] == OpenAIDriver.defaultBaseURL)
        #expect(EngineConfiguration.builtInBaseURLs[.anthropic] == AnthropicDriver.defaultBaseURL)
        #expect(EngineConfiguration.builtInBaseURLs[.gemini] == GeminiDriver.defaultBaseURL)
    }
}

/// Key resolution in the planner, for in-process turns and durable steps alike.
@Suite("Provider key resolution")
struct ProviderKeyResolutionTests {
    static let operatorKey = "sk-operator-DEFAULT-key-0042"

    struct Setup {
        var store: InMemoryStore
        var cipher: SecretsCipher
        var planner: TurnPlanner
    }

    /// A planner whose address policy refuses every address in 10.0.0.0/8 (standing in for
    /// `web_fetch`'s policy, which the server tests above exercise).
    func setup() throws -> Setup {
        let store = InMemoryStore()
        let cipher = SecretsCipher.generateEphemeral()
        struct Refused: Error, CustomStringConvertible { var description: String { "a private address" } }
        let configuration = EngineConfiguration(
            defaultAPIKeys: [.openai: Self.operatorKey],
            baseURLPolicy: ProviderAddressPolicy { url in if url.host?.hasPrefix("10.") == true { throw Refused() } })
        let planner = TurnPlanner(
            store: store, configuration: configuration, capabilities: { _ in [] }, cipher: cipher,
            logger: Logger(label: "test"))
        return Setup(store: store, cipher: cipher, planner: planner)
    }

    @Test("a stored key that does not decrypt fails the call instead of falling back to the DEFAULT key")
    func undecryptableKeyHasNoFallback() async throws {
        let setup = try setup()
        let other = LLMProvider(name: "other", providerType: .openai)
        // A well-formed envelope sealed for another row, and one that is not an envelope at all.
        let moved = try setup.cipher.encrypt(
            "sk-user", boundTo: .providerKey(providerID: other.id, organizationID: other.organizationID))
        for envelope in [moved, "not-an-envelope"] {
            let provider = LLMProvider(name: "mine", providerType: .openai, encryptedAPIKey: envelope)
            try await setup.store.insertProvider(provider)
            #expect(setup.planner.apiKey(for: provider, baseURL: nil) == nil)
            let stepKey = try await setup.planner.apiKey(
                providerID: provider.id, organizationID: provider.organizationID, providerType: .openai, baseURL: nil)
            #expect(stepKey == nil, "durable steps follow the same rule")
        }
        // The envelope in its own row decrypts.
        var own = other
        own.encryptedAPIKey = moved
        #expect(setup.planner.apiKey(for: own, baseURL: nil) == "sk-user")
    }

    @Test("the DEFAULT key goes only to the operator's endpoint, in-process and per durable step")
    func defaultKeyOnlyForOperatorEndpoint() async throws {
        let setup = try setup()
        let elsewhere = LLMProvider(name: "x", providerType: .openai, baseURL: "https://proxy.example/v1")
        try await setup.store.insertProvider(elsewhere)
        #expect(setup.planner.apiKey(for: elsewhere, baseURL: elsewhere.baseURL) == nil)
        #expect(
            try await setup.planner.apiKey(
                providerID: elsewhere.id, organizationID: elsewhere.organizationID, providerType: .openai,
                baseURL: elsewhere.baseURL)
                == nil)
        // A deleted provider's step falls back only for the operator's endpoint.
        #expect(
            try await setup.planner.apiKey(
                providerID: "provider_gone", organizationID: BuiltIn.organizationID, providerType: .openai, baseURL: nil)
                == Self.operatorKey)
        #expect(
            try await setup.planner.apiKey(
                providerID: "provider_gone", organizationID: BuiltIn.organizationID, providerType: .openai,
                baseURL: "https://proxy.example/v1") == nil)
    }

    @Test("a base_url that fails the address policy at turn time gets no key, so no request is sent")
    func addressPolicyAtTurnTime() async throws {
        let setup = try setup()
        let sealedProvider = LLMProvider(name: "x", providerType: .openai, baseURL: "http://10.9.9.9/v1", models: ["m"])
        var provider = sealedProvider
        provider.encryptedAPIKey = try setup.cipher.encrypt(
            "sk-user", boundTo: .providerKey(providerID: provider.id, organizationID: provider.organizationID))
        try await setup.store.insertProvider(provider)
        let session = Session(modelID: "\(provider.id)/m")
        try await setup.store.insertSession(session)
        let plan = try await setup.planner.makePlan(session: session, input: Message(role: .user, content: [.text("hi")]))
        #expect(plan.modelResolved)
        #expect(plan.turn.endpoint.baseURL == "http://10.9.9.9/v1")
        #expect(plan.turn.endpoint.apiKey == nil)
        let stepKey = try await setup.planner.apiKey(
            providerID: provider.id, organizationID: provider.organizationID, providerType: .openai,
            baseURL: provider.baseURL)
        #expect(stepKey == nil)
    }
}

/// Which provider a model reference reaches.
@Suite("Model resolution rule")
struct ModelResolutionRuleTests {
    let builtIns = BuiltInProviders.make()
    let mine = LLMProvider(name: "mine", providerType: .openai, baseURL: "https://proxy.example/v1", models: ["gpt-4o", "own-model"])

    @Test("provider_type/model and bare names a built-in lists stay with the built-in provider")
    func builtInsFirst() throws {
        let providers = [mine] + builtIns
        let byType = try #require(ModelResolver.resolve("openai/gpt-4o", among: providers))
        #expect(byType.provider.isBuiltIn)
        #expect(try #require(ModelResolver.resolve("gpt-4o", among: providers)).provider.isBuiltIn)
    }

    @Test("a user provider is reached by its id, or by a bare name or type no active built-in answers")
    func userProvidersByIDOrOwnNames() throws {
        let providers = builtIns + [mine]
        #expect(try #require(ModelResolver.resolve("\(mine.id)/gpt-4o", among: providers)).provider.id == mine.id)
        #expect(try #require(ModelResolver.resolve("own-model", among: providers)).provider.id == mine.id)
        let withoutBuiltInOpenAI = builtIns.filter { $0.providerType != .openai } + [mine]
        #expect(try #require(ModelResolver.resolve("openai/x", among: withoutBuiltInOpenAI)).provider.id == mine.id)
    }
}
