import Foundation

/// The error `withTimeout` throws when no other is given.
public struct TimeoutError: Error, Sendable, Hashable {
    public var limit: Duration
    public init(limit: Duration) { self.limit = limit }
}

/// Runs `operation`; when `limit` passes first, cancels it and throws `timeoutError()`
/// (`TimeoutError` by default). The operation must honour cancellation: structured concurrency
/// waits for it to return rather than abandoning it.
public func withTimeout<T: Sendable>(
    _ limit: Duration, throwing timeoutError: (@Sendable () -> any Error)? = nil,
    _ operation: @escaping @Sendable () async throws -> T
) async throws -> T {
    let timeoutError = timeoutError ?? { TimeoutError(limit: limit) }
    return try await withThrowingTaskGroup(of: T.self) { group in
        group.addTask { try await operation() }
        group.addTask {
            try await Task.sleep(for: limit)
            throw timeoutError()
        }
        defer { group.cancelAll() }
        guard let result = try await group.next() else { throw CancellationError() }
        return result
    }
}
