import KeelCore

/// Streams from Anthropic's Messages API.
public struct AnthropicDriver: LLMDriver {
    public static let defaultBaseURL = "https://api.anthropic.com"
    public static let apiVersion = "2023-06-01"

    public let transport: StreamingHTTPTransport

    public init(transport: StreamingHTTPTransport = StreamingHTTPTransport()) {
        self.transport = transport
    }

    public func generate(
        _ request: LLMRequest, endpoint: LLMEndpoint, onDelta: @Sendable (LLMDelta) async throws -> Void
    ) async throws -> LLMResponse {
        let key = try endpoint.requireAPIKey(for: .anthropic)
        let httpRequest = ProviderHTTPRequest(
            url: endpoint.url(defaultBase: Self.defaultBaseURL, path: "/v1/messages"),
            headers: [("x-api-key", key), ("anthropic-version", Self.apiVersion)],
            body: AnthropicRequestBody.make(for: request), secret: key)
        return try await transport.stream(httpRequest, makeDecoder: { AnthropicStreamDecoder() }, onDelta: onDelta)
    }
}
