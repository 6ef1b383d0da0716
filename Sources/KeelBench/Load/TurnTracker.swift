import Synchronization

/// Hands the terminal events a session's SSE reader sees to the turn that waits for them.
///
/// A session runs its turns one after another, so its n-th terminal event (`turn.completed`,
/// `turn.failed` or `turn.cancelled`) ends its n-th turn: no frame is JSON-decoded to match them.
/// The event may arrive before the POST that started the turn has returned, so an outcome nobody
/// waits for yet is kept until its turn asks. The reader stamps each outcome with the time it read
/// the frame, so the latency does not include waking the waiting task.
public final class TurnTracker: Sendable {
    public struct Outcome: Sendable, Equatable {
        /// The terminal event's type.
        public var event: String
        public var receivedAt: ContinuousClock.Instant
        /// The frame's data for a failed or cancelled turn (for the report), empty otherwise.
        public var detail: String

        public var succeeded: Bool { event == "turn.completed" }
    }

    private struct Waiter {
        var turn: Int
        var continuation: CheckedContinuation<Outcome, any Error>
        var timer: Task<Void, Never>?
    }

    private struct State {
        var terminalEvents = 0
        var unclaimed: [Int: Outcome] = [:]
        var waiter: Waiter?
        /// Errors for turns that gave up before they started waiting (a timeout or cancel that won the race).
        var abandoned: [Int: any Error] = [:]
        /// Set once the stream is lost for good: every wait fails with it.
        var failure: (any Error)?
    }

    private let state = Mutex(State())

    public init() {}

    /// Called by the stream reader for every terminal event, in stream order.
    public func recordTerminal(event: String, at instant: ContinuousClock.Instant, detail: String = "") {
        let outcome = Outcome(event: event, receivedAt: instant, detail: detail)
        let waiter: Waiter? = state.withLock { state in
            state.terminalEvents += 1
            if let waiter = state.waiter, waiter.turn == state.terminalEvents {
                state.waiter = nil
                return waiter
            }
            state.unclaimed[state.terminalEvents] = outcome
            return nil
        }
        waiter?.timer?.cancel()
        waiter?.continuation.resume(returning: outcome)
    }

    /// The stream is gone and could not be resumed: the waiting turn and every later one fail.
    public func fail(_ error: any Error) {
        let waiter: Waiter? = state.withLock { state in
            state.failure = error
            defer { state.waiter = nil }
            return state.waiter
        }
        waiter?.timer?.cancel()
        waiter?.continuation.resume(throwing: error)
    }

    /// Waits for the terminal event of the session's `turn`-th turn (1-based).
    public func outcome(ofTurn turn: Int, timeout: Duration) async throws -> Outcome {
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Outcome, any Error>) in
                let ready: Result<Outcome, any Error>? = state.withLock { state in
                    if let outcome = state.unclaimed.removeValue(forKey: turn) { return .success(outcome) }
                    if let error = state.abandoned.removeValue(forKey: turn) ?? state.failure { return .failure(error) }
                    let timer = Task { [weak self] in
                        guard (try? await Task.sleep(for: timeout)) != nil else { return }
                        self?.abandon(turn: turn, because: BenchError.turnTimeout(timeout))
                    }
                    state.waiter = Waiter(turn: turn, continuation: continuation, timer: timer)
                    return nil
                }
                if let ready { continuation.resume(with: ready) }
            }
        } onCancel: {
            abandon(turn: turn, because: CancellationError())
        }
    }

    private func abandon(turn: Int, because error: any Error) {
        let waiter: Waiter? = state.withLock { state in
            guard let waiter = state.waiter, waiter.turn == turn else {
                if turn > state.terminalEvents { state.abandoned[turn] = error }
                return nil
            }
            state.waiter = nil
            return waiter
        }
        waiter?.timer?.cancel()
        waiter?.continuation.resume(throwing: error)
    }
}
