import Synchronization

/// A one-shot gate: waiters suspend until it opens (or fails), later callers pass straight through.
final class ReadinessGate: Sendable {
    private enum State {
        case waiting([UInt64: CheckedContinuation<Void, any Error>])
        case open
        case failed(any Error)
    }

    private let state = Mutex<State>(.waiting([:]))
    private let nextToken = Atomic<UInt64>(0)

    var isOpen: Bool {
        state.withLock { if case .open = $0 { true } else { false } }
    }

    func open() {
        let waiters = state.withLock { state -> [CheckedContinuation<Void, any Error>] in
            guard case .waiting(let waiters) = state else { return [] }
            state = .open
            return Array(waiters.values)
        }
        for waiter in waiters { waiter.resume() }
    }

    /// Fails the waiters and every later `wait()`; no effect once open.
    func fail(_ error: any Error) {
        let waiters = state.withLock { state -> [CheckedContinuation<Void, any Error>] in
            guard case .waiting(let waiters) = state else { return [] }
            state = .failed(error)
            return Array(waiters.values)
        }
        for waiter in waiters { waiter.resume(throwing: error) }
    }

    func wait() async throws {
        if isOpen { return }
        let token = nextToken.add(1, ordering: .relaxed).newValue
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                let outcome = state.withLock { state -> Result<Void, any Error>? in
                    switch state {
                    case .open: return .success(())
                    case .failed(let error): return .failure(error)
                    case .waiting(var waiters):
                        // Cancelled before we got here: the cancellation handler found nothing to resume.
                        if Task.isCancelled { return .failure(CancellationError()) }
                        waiters[token] = continuation
                        state = .waiting(waiters)
                        return nil
                    }
                }
                if let outcome { continuation.resume(with: outcome) }
            }
        } onCancel: {
            let waiter = state.withLock { state -> CheckedContinuation<Void, any Error>? in
                guard case .waiting(var waiters) = state, let waiter = waiters.removeValue(forKey: token) else {
                    return nil
                }
                state = .waiting(waiters)
                return waiter
            }
            waiter?.resume(throwing: CancellationError())
        }
    }
}
