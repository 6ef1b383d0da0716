import Synchronization

/// A value settled once by whichever of several producers comes first, awaited without polling.
///
/// `withDeadline` races a piece of work, a clock and the caller's cancellation through one of
/// these: later `complete` calls are ignored, so the loser of the race cannot overwrite the winner.
/// It also bridges thread- and callback-based producers (a child's exit, a blocking pool's result)
/// to async callers across the package.
package final class FirstOutcome<Value: Sendable>: Sendable {
    private struct State {
        var value: Value?
        var waiters: [CheckedContinuation<Value, Never>] = []
    }

    private let state = Mutex(State())

    package init() {}

    package var isComplete: Bool { state.withLock { $0.value != nil } }

    /// Settles the value and wakes every waiter; returns false when it was already settled.
    @discardableResult
    package func complete(_ value: Value) -> Bool {
        let waiters = state.withLock { state -> [CheckedContinuation<Value, Never>]? in
            guard state.value == nil else { return nil }
            state.value = value
            defer { state.waiters = [] }
            return state.waiters
        }
        guard let waiters else { return false }
        for waiter in waiters { waiter.resume(returning: value) }
        return true
    }

    /// The settled value. Does not return on cancellation by itself: callers arrange for some
    /// producer (a deadline, a cancellation handler) to settle it.
    package func value() async -> Value {
        await withCheckedContinuation { continuation in
            let ready = state.withLock { state -> Value? in
                if let value = state.value { return value }
                state.waiters.append(continuation)
                return nil
            }
            if let ready { continuation.resume(returning: ready) }
        }
    }

    /// The settled value, or `fallback` (which then becomes the value) once `limit` has passed or
    /// the waiting task is cancelled.
    func value(settlingAfter limit: Duration, with fallback: @escaping @Sendable () -> Value) async -> Value {
        await withTaskGroup(of: Void.self) { group in
            // The sleep child is the only one in the group and returns at once when cancelled, so
            // leaving the group never waits for anything but a clock.
            group.addTask {
                try? await Task.sleep(for: limit)
                self.complete(fallback())
            }
            let value = await self.value()
            group.cancelAll()
            return value
        }
    }
}
