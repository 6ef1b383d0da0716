/// One dispatched Server-Sent Event: what a provider's streaming endpoint sends per step.
public struct ServerSentEvent: Sendable, Hashable {
    /// The `event:` field, if the server named the event (Anthropic does; OpenAI and Gemini don't).
    public var event: String?
    /// All `data:` lines of the event joined with `\n`, as the SSE specification prescribes.
    public var data: String
    /// The last `id:` seen on the stream, if any.
    public var id: String?

    public init(event: String? = nil, data: String, id: String? = nil) {
        self.event = event
        self.data = data
        self.id = id
    }
}
