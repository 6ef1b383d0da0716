import Foundation

/// Where and how to reach a provider for one call. The key is plaintext here: it is resolved
/// just before the call and never stored, logged or put on an event.
public struct LLMEndpoint: Sendable {
    public var providerType: ProviderType
    public var apiKey: String?
    public var baseURL: String?

    public init(providerType: ProviderType, apiKey: String?, baseURL: String? = nil) {
        self.providerType = providerType
        self.apiKey = apiKey
        self.baseURL = baseURL
    }
}

/// One model call: the whole conversation so far plus the tools the model may call.
public struct LLMRequest: Sendable {
    public var model: String
    public var systemPrompt: String
    public var messages: [Message]
    public var tools: [ToolDefinition]
    public var parallelToolCalls: Bool
    public var reasoningEffort: String?
    public var maxOutputTokens: Int?

    public init(
        model: String, systemPrompt: String, messages: [Message], tools: [ToolDefinition] = [],
        parallelToolCalls: Bool = true, reasoningEffort: String? = nil, maxOutputTokens: Int? = nil
    ) {
        self.model = model
        self.systemPrompt = systemPrompt
        self.messages = messages
        self.tools = tools
        self.parallelToolCalls = parallelToolCalls
        self.reasoningEffort = reasoningEffort
        self.maxOutputTokens = maxOutputTokens
    }
}

/// Incremental output delivered while the model streams.
public enum LLMDelta: Sendable, Hashable {
    case text(String)
    case thinking(String)
}

/// The complete result of one model call.
public struct LLMResponse: Sendable, Hashable {
    public var text: String
    public var thinking: String
    public var thinkingSignature: String?
    public var toolCalls: [ToolCall]
    public var usage: Usage
    public var finishReason: String?
    public var responseID: String?
    public var model: String?
    /// Seconds from sending the request to the first streamed content, if any arrived.
    public var timeToFirstToken: Double?

    public init(
        text: String = "", thinking: String = "", thinkingSignature: String? = nil, toolCalls: [ToolCall] = [],
        usage: Usage = Usage(), finishReason: String? = nil, responseID: String? = nil, model: String? = nil,
        timeToFirstToken: Double? = nil
    ) {
        self.text = text
        self.thinking = thinking
        self.thinkingSignature = thinkingSignature
        self.toolCalls = toolCalls
        self.usage = usage
        self.finishReason = finishReason
        self.responseID = responseID
        self.model = model
        self.timeToFirstToken = timeToFirstToken
    }
}

/// Why a model call failed. Only `code` reaches clients; `detail` is for logs and traces and is
/// written so that it never contains credentials.
public enum LLMError: Error, Sendable, Hashable {
    case missingAPIKey(provider: ProviderType)
    case unauthorized(status: Int)
    case rateLimited(retryAfter: Double?)
    case server(status: Int)
    case badRequest(status: Int, detail: String)
    case network(String)
    case timeout
    case invalidResponse(String)
    case unknownModel(String)

    /// The error code put on `turn.failed`.
    public var code: String {
        switch self {
        case .missingAPIKey, .unauthorized, .unknownModel: "provider_misconfigured"
        case .rateLimited: "provider_rate_limited"
        // The provider refused this request (too long, bad content): not an outage, so it never
        // counts against the provider's circuit breaker.
        case .badRequest: "provider_rejected_request"
        default: "llm_error"
        }
    }

    /// Whether a retry before the first token may succeed.
    public var isRetryable: Bool {
        switch self {
        case .rateLimited, .server, .network, .timeout: true
        default: false
        }
    }

    public var detail: String {
        switch self {
        case .missingAPIKey(let provider): "no API key configured for provider \(provider.rawValue)"
        case .unauthorized(let status): "provider rejected the credentials (HTTP \(status))"
        case .rateLimited: "provider rate limit (HTTP 429)"
        case .server(let status): "provider server error (HTTP \(status))"
        case .badRequest(let status, let detail): "provider rejected the request (HTTP \(status)): \(detail)"
        case .network(let detail): "network error: \(detail)"
        case .timeout: "provider timed out"
        case .invalidResponse(let detail): "invalid provider response: \(detail)"
        case .unknownModel(let model): "unknown model \(model)"
        }
    }
}

/// A streaming LLM driver. Implementations stream deltas through `onDelta` as they arrive and
/// return the assembled response; cancellation of the calling task stops the stream promptly.
public protocol LLMDriver: Sendable {
    func generate(
        _ request: LLMRequest, endpoint: LLMEndpoint, onDelta: @Sendable (LLMDelta) async throws -> Void
    ) async throws -> LLMResponse
}

/// Stands in for a driver when the turn cannot reach any model, so the failure takes the same
/// user-visible path as a failed LLM call.
public struct UnavailableModelDriver: LLMDriver {
    public let error: LLMError

    public init(error: LLMError) {
        self.error = error
    }

    public func generate(
        _ request: LLMRequest, endpoint: LLMEndpoint, onDelta: @Sendable (LLMDelta) async throws -> Void
    ) async throws -> LLMResponse {
        throw error
    }
}
