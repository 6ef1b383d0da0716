import Foundation
import KeelCore

/// KeelEngine — runs turns in-process: one mailbox per session, a turn at a time per session,
/// cancellation, model and key resolution, and the event sink that persists what the loop emits.
///
/// A message that arrives while a turn runs is queued and becomes the next turn of that session
/// (no steering): each turn sees a complete history and the event log never interleaves two turns.
public struct EngineConfiguration: Sendable {
    /// Fallback API keys by provider type (`DEFAULT_*_API_KEY`), used when a provider has none stored.
    public var defaultAPIKeys: [ProviderType: String]
    /// Base URL overrides by provider type, for OpenAI-compatible servers and tests.
    public var baseURLs: [ProviderType: String]
    /// The address policy a provider's own `base_url` must pass (the server wires `web_fetch`'s).
    public var baseURLPolicy: ProviderAddressPolicy
    /// The model used when neither the message, the session nor the agent names one.
    public var defaultModelReference: String
    public var maxIterations: Int
    public var toolTimeout: Duration
    public var deltaBatchInterval: Duration
    /// Messages that may wait behind a session's running turn (`MAX_QUEUED_MESSAGES_PER_SESSION`);
    /// one more is refused, so a client cannot queue unbounded work on a busy session.
    public var maxQueuedMessagesPerSession: Int
    /// How long a turn waits for the client's results of client-side tool calls
    /// (`TOOL_RESULT_TIMEOUT_SECS`); then the calls get error results and the turn goes on.
    public var toolResultTimeout: Duration

    public init(
        defaultAPIKeys: [ProviderType: String] = [:], baseURLs: [ProviderType: String] = [:],
        defaultModelReference: String = "llmsim/sim", maxIterations: Int = TurnPlan.defaultMaxIterations,
        toolTimeout: Duration = .seconds(60), deltaBatchInterval: Duration = .milliseconds(100),
        maxQueuedMessagesPerSession: Int = 100,
        baseURLPolicy: ProviderAddressPolicy = .unrestricted, toolResultTimeout: Duration = .seconds(300)
    ) {
        self.toolResultTimeout = toolResultTimeout
        self.defaultAPIKeys = defaultAPIKeys
        self.baseURLs = baseURLs
        self.baseURLPolicy = baseURLPolicy
        self.defaultModelReference = defaultModelReference
        self.maxIterations = maxIterations
        self.toolTimeout = toolTimeout
        self.deltaBatchInterval = deltaBatchInterval
        self.maxQueuedMessagesPerSession = maxQueuedMessagesPerSession
    }
}
