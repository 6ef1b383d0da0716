import KeelCore

/// The provider-specific half of a streaming call: turns SSE events into deltas and, at the end,
/// into the assembled response. The transport owns everything else (HTTP, retries, timeouts,
/// TTFT), so a decoder is a pure state machine that tests can drive without a network.
protocol ProviderStreamDecoder {
    /// Consumes one event and returns the deltas to deliver now, in order.
    /// Throws `LLMError` for a provider error event or an unreadable payload.
    mutating func consume(_ event: ServerSentEvent) throws -> [LLMDelta]

    /// Whether any model output (text, thinking or a tool call) has arrived: the TTFT mark.
    var hasContent: Bool { get }

    /// Whether the provider's end-of-stream marker arrived, so reading can stop.
    var isFinished: Bool { get }

    /// The response once the body has ended; throws if the stream stopped before completing.
    func response() throws -> LLMResponse
}
