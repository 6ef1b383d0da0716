import Synchronization

/// Coalesces streamed text into `output.message.delta` events: the first piece goes out at once,
/// then at most one event per `interval`, and a piece waits no longer than that — a timer flushes
/// what is pending when the provider pauses, instead of leaving it until the next piece or the
/// end of the answer. Thinking passes through as `reason.thinking.*` events. Every emit happens
/// under one `AsyncSerialLock`, so events leave in order and `accumulated` only grows.
final class DeltaBatcher: Sendable {
    private struct State {
        var pendingText = ""
        var accumulated = ""
        var lastFlush: ContinuousClock.Instant?
        var thinking = ""
        var thinkingStarted = false
        /// The answer ended: the timer must not emit any more (the final `flush` does).
        var finished = false
        var timerFailure: (any Error)?
    }

    private let plan: TurnPlan
    private let messageID: String
    private let sink: any TurnEventSink
    private let interval: Duration
    private let state = Mutex(State())
    private let emits = AsyncSerialLock()
    /// When pending text falls due: the timer sleeps until then.
    private let deadlines: AsyncStream<ContinuousClock.Instant>
    private let deadlineSink: AsyncStream<ContinuousClock.Instant>.Continuation

    init(plan: TurnPlan, messageID: String, sink: any TurnEventSink, interval: Duration) {
        self.plan = plan
        self.messageID = messageID
        self.sink = sink
        self.interval = interval
        (deadlines, deadlineSink) = AsyncStream.makeStream(bufferingPolicy: .bufferingNewest(1))
    }

    /// Runs `generate` (which feeds `add`) with the timer that flushes pending text when due.
    /// With a zero interval every piece is emitted on arrival and there is no timer.
    func flushingWhenDue<Result: Sendable>(_ generate: () async throws -> Result) async throws -> Result {
        guard interval > .zero else { return try await generate() }
        return try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await self.runTimer() }
            let result: Result
            do {
                result = try await generate()
            } catch {
                await stopTimer()
                group.cancelAll()
                throw error
            }
            await stopTimer()
            group.cancelAll()
            try await group.waitForAll()
            return result
        }
    }

    func add(_ delta: LLMDelta) async throws {
        if let failure = state.withLock({ $0.timerFailure }) { throw failure }
        try await emits.withLock {
            switch delta {
            case .text(let text):
                let now = ContinuousClock.now
                let deadline = state.withLock { state -> ContinuousClock.Instant? in
                    state.pendingText += text
                    state.accumulated += text
                    // The first delta goes out at once so clients see the time to first token.
                    guard let last = state.lastFlush, now - last < interval else { return nil }
                    return last + interval
                }
                if let deadline {
                    deadlineSink.yield(deadline)
                } else {
                    try await emitPending()
                }
            case .thinking(let text):
                let (first, accumulated) = state.withLock { state -> (Bool, String) in
                    let first = !state.thinkingStarted
                    state.thinkingStarted = true
                    state.thinking += text
                    return (first, state.thinking)
                }
                if first {
                    try await sink.emit(
                        ReasonThinkingStartedPayload(turnID: plan.turnID, model: plan.model), context: plan.context)
                }
                try await sink.emit(
                    ReasonThinkingDeltaPayload(turnID: plan.turnID, delta: text, accumulated: accumulated),
                    context: plan.context)
            }
        }
    }

    /// Emits whatever text is pending and closes an open thinking block.
    func flush() async throws {
        try await emits.withLock { try await emitPending() }
    }

    private func emitPending() async throws {
        let (text, accumulated, thinking) = state.withLock { state -> (String, String, String?) in
            let text = state.pendingText
            state.pendingText = ""
            state.lastFlush = ContinuousClock.now
            let thinking = state.thinkingStarted ? state.thinking : nil
            state.thinkingStarted = false
            return (text, state.accumulated, thinking)
        }
        if let thinking {
            try await sink.emit(
                ReasonThinkingCompletedPayload(turnID: plan.turnID, thinking: thinking), context: plan.context)
        }
        guard !text.isEmpty else { return }
        try await sink.emit(
            OutputMessageDeltaPayload(turnID: plan.turnID, messageID: messageID, delta: text, accumulated: accumulated),
            context: plan.context)
    }

    private func runTimer() async throws {
        for await deadline in deadlines {
            do {
                try await Task.sleep(until: deadline, clock: .continuous)
            } catch {
                return
            }
            do {
                try await emits.withLock {
                    let due = state.withLock { state in
                        guard !state.finished, !state.pendingText.isEmpty, let last = state.lastFlush else { return false }
                        return ContinuousClock.now - last >= interval
                    }
                    if due { try await emitPending() }
                }
            } catch {
                state.withLock { $0.timerFailure = error }
                throw SinkFailure(underlying: error)
            }
        }
    }

    /// Taken under the emit lock, so no timer emit is in progress once it returns (cancelling
    /// the timer then interrupts only its sleep, never an append).
    private func stopTimer() async {
        await emits.withLock { state.withLock { $0.finished = true } }
        deadlineSink.finish()
    }
}
