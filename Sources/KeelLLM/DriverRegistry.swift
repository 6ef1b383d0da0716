import AsyncHTTPClient
import KeelCore

/// One driver per provider type, built once and shared: drivers are stateless apart from the
/// HTTP client, so the engine can look one up per call without allocating.
public struct DriverRegistry: Sendable {
    public let openAI: OpenAIDriver
    public let anthropic: AnthropicDriver
    public let gemini: GeminiDriver
    public let sim: SimDriver

    /// - Parameters:
    ///   - httpClient: the client all network drivers share (defaults to the process singleton).
    ///   - transport: timeouts and retry policy for the network drivers.
    ///   - simLatency: delay per streamed chunk of the `llmsim` driver.
    public init(
        httpClient: HTTPClient = .shared, transport: StreamingHTTPTransport.Configuration = .init(),
        simLatency: Duration = .zero
    ) {
        let shared = StreamingHTTPTransport(httpClient: httpClient, configuration: transport)
        self.openAI = OpenAIDriver(transport: shared)
        self.anthropic = AnthropicDriver(transport: shared)
        self.gemini = GeminiDriver(transport: shared)
        self.sim = SimDriver(latency: simLatency)
    }

    public func driver(for providerType: ProviderType) -> any LLMDriver {
        switch providerType {
        case .openai: openAI
        case .anthropic: anthropic
        case .gemini: gemini
        case .llmsim: sim
        }
    }
}
