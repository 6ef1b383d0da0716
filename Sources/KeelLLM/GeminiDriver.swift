import KeelCore

/// Streams from the Gemini API's `streamGenerateContent` in SSE mode.
public struct GeminiDriver: LLMDriver {
    public static let defaultBaseURL = "https://generativelanguage.googleapis.com/v1beta"

    public let transport: StreamingHTTPTransport

    public init(transport: StreamingHTTPTransport = StreamingHTTPTransport()) {
        self.transport = transport
    }

    public func generate(
        _ request: LLMRequest, endpoint: LLMEndpoint, onDelta: @Sendable (LLMDelta) async throws -> Void
    ) async throws -> LLMResponse {
        let key = try endpoint.requireAPIKey(for: .gemini)
        let model = request.model.hasPrefix("models/") ? String(request.model.dropFirst("models/".count)) : request.model
        // The key goes in a header, never `?key=`, so URLs can be logged without leaking it.
        let httpRequest = ProviderHTTPRequest(
            url: endpoint.url(defaultBase: Self.defaultBaseURL, path: "/models/\(model):streamGenerateContent?alt=sse"),
            headers: [("x-goog-api-key", key)],
            body: GeminiRequestBody.make(for: request), secret: key)
        return try await transport.stream(httpRequest, makeDecoder: { GeminiStreamDecoder() }, onDelta: onDelta)
    }
}
