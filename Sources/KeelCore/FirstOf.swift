/// Runs both operations concurrently and returns the outcome of whichever finishes first (its
/// value, or its error); the other is then cancelled.
///
/// Structured: the loser is awaited before this returns, so both operations must honour
/// cancellation. For work that may not (a tool call), use `withDeadline`.
package func firstOf<T: Sendable>(
    _ first: @escaping @Sendable () async throws -> T,
    _ second: @escaping @Sendable () async throws -> T
) async throws -> T {
    try await withThrowingTaskGroup(of: T.self) { group in
        group.addTask(operation: first)
        group.addTask(operation: second)
        defer { group.cancelAll() }
        // Two children were added, so `next()` has an outcome; nil only if the group were empty.
        guard let outcome = try await group.next() else { throw CancellationError() }
        return outcome
    }
}

/// Runs both operations concurrently and returns as soon as either has returned; the other is
/// then cancelled and awaited (so both must honour cancellation).
package func untilEither(
    _ first: @escaping @Sendable () async -> Void,
    _ second: @escaping @Sendable () async -> Void
) async {
    await withTaskGroup(of: Void.self) { group in
        group.addTask(operation: first)
        group.addTask(operation: second)
        await group.next()
        group.cancelAll()
    }
}
