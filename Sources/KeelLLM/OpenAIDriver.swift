import KeelCore

/// Streams from OpenAI's Chat Completions API (and the many servers compatible with it, via
/// `LLMEndpoint.baseURL`).
public struct OpenAIDriver: LLMDriver {
    public static let defaultBaseURL = "https://api.openai.com/v1"

    public let transport: StreamingHTTPTransport

    public init(transport: StreamingHTTPTransport = StreamingHTTPTransport()) {
        self.transport = transport
    }

    public func generate(
        _ request: LLMRequest, endpoint: LLMEndpoint, onDelta: @Sendable (LLMDelta) async throws -> Void
    ) async throws -> LLMResponse {
        let key = try endpoint.requireAPIKey(for: .openai)
        let httpRequest = ProviderHTTPRequest(
            url: endpoint.url(defaultBase: Self.defaultBaseURL, path: "/chat/completions"),
            headers: [("authorization", "Bearer \(key)")],
            body: OpenAIRequestBody.make(for: request), secret: key)
        return try await transport.stream(httpRequest, makeDecoder: { OpenAIStreamDecoder() }, onDelta: onDelta)
    }
}
