import KeelCore

/// A deterministic, offline stand-in for a model (provider type `llmsim`): the no-key
/// quickstart, tests and benchmarks run the full turn loop against it.
///
/// It echoes the last user message word by word, or follows the directives in it (see
/// `SimDirectives`), or summarises tool results. `latency` (or a longer `[[pace:MS]]`) is paid before every streamed chunk,
/// so streaming and cancellation behave like a real provider's; cancellation is honoured
/// between chunks.
public struct SimDriver: LLMDriver {
    public var latency: Duration

    public init(latency: Duration = .zero) {
        self.latency = latency
    }

    public func generate(
        _ request: LLMRequest, endpoint: LLMEndpoint, onDelta: @Sendable (LLMDelta) async throws -> Void
    ) async throws -> LLMResponse {
        let start = ContinuousClock.now
        try Task.checkCancellation()
        let reply = try SimScript.reply(to: request)
        var firstToken: Duration?
        let pause = max(latency, reply.pace ?? .zero)
        for chunk in SimScript.wordChunks(reply.text) {
            try await wait(pause)
            if firstToken == nil { firstToken = .now - start }
            try await onDelta(.text(chunk))
        }
        if !reply.toolCalls.isEmpty {
            try await wait(pause)
            if firstToken == nil { firstToken = .now - start }
        }
        let outputCharacters = reply.toolCalls.reduce(reply.text.count) {
            $0 + $1.name.count + $1.arguments.jsonString.count
        }
        return LLMResponse(
            text: reply.text, toolCalls: reply.toolCalls,
            usage: Usage(
                inputTokens: SimScript.tokens(forCharacters: SimScript.promptCharacters(request)),
                outputTokens: SimScript.tokens(forCharacters: outputCharacters)),
            finishReason: reply.toolCalls.isEmpty ? "stop" : "tool_calls",
            responseID: "sim-" + RandomHex.make(8), model: request.model,
            timeToFirstToken: firstToken.map(\.inSeconds))
    }

    private func wait(_ pause: Duration) async throws {
        try Task.checkCancellation()
        if pause > .zero { try await Task.sleep(for: pause) }
    }
}
