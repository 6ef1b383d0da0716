/// Creates, through the public API, what a scenario's sessions need: for `sim` an agent on the
/// built-in `llmsim/sim` model; for `tool` a provider pointing at the mock and an agent on that
/// provider's model with the `test_math` capability (so the mock's `add` call runs server-side);
/// for `stream` the same provider and an agent without tools. Then one session of that agent per
/// benchmark session.
enum ScenarioSetup {
    static func sessions(
        _ count: Int, scenario: BenchScenario, api: BenchAPI, mockBaseURL: String?
    ) async throws -> [String] {
        let agentID = try await agent(for: scenario, api: api, mockBaseURL: mockBaseURL)
        var sessions: [String] = []
        for index in 0..<count {
            sessions.append(try await api.create("/v1/sessions", json: ["agent_id": agentID, "title": "bench \(index)"]))
        }
        return sessions
    }

    private static func agent(for scenario: BenchScenario, api: BenchAPI, mockBaseURL: String?) async throws -> String {
        switch scenario {
        case .sim:
            return try await api.create(
                "/v1/agents",
                json: ["name": "bench-sim", "system_prompt": "You are a benchmark agent.", "default_model_id": "llmsim/sim"])
        case .tool, .stream:
            guard let mockBaseURL else { throw BenchError.usage("the \(scenario.rawValue) scenario needs the OpenAI mock") }
            let providerID = try await api.create(
                "/v1/llm-providers",
                json: ["name": "bench-mock", "provider_type": "openai", "base_url": mockBaseURL, "api_key": "sk-bench",
                       "models": [MockOpenAIServer.modelName]])
            var agent: [String: Any] = [
                "name": "bench-\(scenario.rawValue)", "system_prompt": "You add numbers with the add tool.",
                "default_model_id": try await modelReference(providerID: providerID, api: api),
            ]
            if scenario == .tool { agent["capabilities"] = [["ref": "test_math"]] }
            return try await api.create("/v1/agents", json: agent)
        }
    }

    /// The reference `GET /v1/models` lists for the provider's model (`provider_…/bench-model`).
    private static func modelReference(providerID: String, api: BenchAPI) async throws -> String {
        let fallback = "\(providerID)/\(MockOpenAIServer.modelName)"
        let (status, json) = try await api.call(.GET, "/v1/models")
        guard status == 200, let models = (json as? [String: Any])?["data"] as? [[String: Any]] else { return fallback }
        let listed = models.first { model in
            model["provider_id"] as? String == providerID && model["model_id"] as? String == MockOpenAIServer.modelName
        }
        return listed?["id"] as? String ?? fallback
    }
}
