import Foundation

/// The error `withTimeout` throws when no other is given.
public struct TimeoutError: Error, Sendable, Hashable {
    public var limit: Duration
    public init(limit: Duration) { self.limit = limit }
}

/// Runs `operation`; when `limit` passes first, cancels it and throws `timeoutError()`
/// (`TimeoutError` by default). The operation must honour cancellation: structured concurrency
/// waits for it to return rather than abandoning it. For work that may not (tool calls), use
/// `withDeadline`, which reports at the limit whatever the work does.
public func withTimeout<T: Sendable>(
    _ limit: Duration, throwing timeoutError: (@Sendable () -> any Error)? = nil,
    _ operation: @escaping @Sendable () async throws -> T
) async throws -> T {
    let timeoutError = timeoutError ?? { TimeoutError(limit: limit) }
    return try await firstOf(operation) {
        try await Task.sleep(for: limit)
        throw timeoutError()
    }
}

/// Runs `operation` and returns its result, or throws `timeoutError()` as soon as `limit` has
/// passed (or `CancellationError` as soon as the caller is cancelled) — even when the operation
/// ignores cancellation and keeps running.
///
/// On timeout or cancel the operation is cancelled and awaited for at most `grace`, so work that
/// honours cancellation finishes its clean-up before the caller moves on; work that does not is
/// abandoned and its result dropped.
///
/// Why an unstructured `Task`: structured concurrency (a task group, `async let`) always waits for
/// its children, so it cannot bound a wait on code that ignores cancellation — which is exactly
/// what a tool timeout must survive (a hung library call, a CPU-bound loop). The task is not
/// fire-and-forget: its handle is kept, it is cancelled the moment the deadline or the caller's
/// cancel wins, and its lifetime is bounded by the operation's own cancellation checks (every
/// built-in tool checks; CPU-bound and blocking work runs through KeelCapabilities'
/// `BlockingWork`, which polls a cancellation flag). It inherits priority and task-locals.
public func withDeadline<T: Sendable>(
    _ limit: Duration, grace: Duration = .milliseconds(100),
    throwing timeoutError: @escaping @Sendable () -> any Error,
    _ operation: @escaping @Sendable () async throws -> T
) async throws -> T {
    let outcome = FirstOutcome<Result<T, any Error>>()
    let finished = FirstOutcome<Bool>()
    let work = Task {
        do { outcome.complete(.success(try await operation())) } catch { outcome.complete(.failure(error)) }
        finished.complete(true)
    }
    let result = await withTaskCancellationHandler {
        await outcome.value(settlingAfter: limit) { .failure(timeoutError()) }
    } onCancel: {
        outcome.complete(.failure(CancellationError()))
        work.cancel()
    }
    if !finished.isComplete {
        work.cancel()
        _ = await finished.value(settlingAfter: grace) { false }
    }
    return try result.get()
}
