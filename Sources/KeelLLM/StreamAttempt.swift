import KeelCore

/// Wraps an error thrown by the caller's `onDelta`, so it passes through retry logic untouched.
struct DeltaConsumerFailure: Error {
    var underlying: any Error
}

/// The state of one attempt, owned by the retry loop so it can see whether output was delivered.
struct StreamAttempt<Decoder: ProviderStreamDecoder> {
    var decoder: Decoder
    var parser = ServerSentEventParser()
    /// Whether any delta reached the caller; from then on the call is never retried.
    var delivered = false
    let start = ContinuousClock.now
    private var firstContent: ContinuousClock.Instant?

    init(decoder: Decoder) {
        self.decoder = decoder
    }

    var timeToFirstToken: Double? {
        firstContent.map { ($0 - start).inSeconds }
    }

    /// Feeds events to the decoder and delivers their deltas; returns whether the stream is done.
    mutating func consume(_ events: [ServerSentEvent], onDelta: @Sendable (LLMDelta) async throws -> Void) async throws -> Bool {
        for event in events {
            let deltas = try decoder.consume(event)
            if firstContent == nil, decoder.hasContent { firstContent = .now }
            for delta in deltas {
                delivered = true
                do {
                    try await onDelta(delta)
                } catch {
                    throw DeltaConsumerFailure(underlying: error)
                }
            }
            if decoder.isFinished { return true }
        }
        return false
    }
}
