import Synchronization

/// A reusable wake-up for a loop that sleeps until there may be work: `signal()` wakes the waits
/// in progress or, with none, the next wait (signals while nobody waits coalesce into one). A wait
/// that is cancelled or times out leaves the signal working for later waits — unlike iterating an
/// `AsyncStream`, whose first cancelled `next()` ends the stream, so every later wait would
/// return at once and the loop would spin.
public final class WakeSignal: Sendable {
    private struct State {
        var pending = false
        var nextID = 0
        var waiters: [Int: CheckedContinuation<Void, Never>] = [:]
        /// Waits cancelled before their continuation was registered.
        var cancelled: Set<Int> = []
    }

    private let state = Mutex(State())

    public init() {}

    public func signal() {
        let waiters = state.withLock { state -> [CheckedContinuation<Void, Never>] in
            if state.waiters.isEmpty {
                state.pending = true
                return []
            }
            defer { state.waiters = [:] }
            return Array(state.waiters.values)
        }
        for waiter in waiters { waiter.resume() }
    }

    /// Returns after a signal (consuming a pending one) or when the waiting task is cancelled.
    public func wait() async {
        let id = state.withLock { state -> Int in
            defer { state.nextID += 1 }
            return state.nextID
        }
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let resumeNow = state.withLock { state -> Bool in
                    if state.cancelled.remove(id) != nil { return true }
                    if state.pending {
                        state.pending = false
                        return true
                    }
                    state.waiters[id] = continuation
                    return false
                }
                if resumeNow { continuation.resume() }
            }
        } onCancel: {
            let waiter = state.withLock { state -> CheckedContinuation<Void, Never>? in
                if let waiter = state.waiters.removeValue(forKey: id) { return waiter }
                state.cancelled.insert(id)
                return nil
            }
            waiter?.resume()
        }
    }

    /// Returns after a signal or once `timeout` has passed, whichever comes first.
    public func wait(timeout: Duration) async {
        await untilEither({ await self.wait() }, { try? await Task.sleep(for: timeout) })
    }
}
