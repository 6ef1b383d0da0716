import KeelCore

/// Runs `operation`, failing with `ToolError("timed out after …")` when it has not finished
/// within `limit`.
///
/// The operation is cancelled when the limit passes, so it must honour cancellation (network
/// calls through AsyncHTTPClient do). Used to bound the whole of a tool call, including parts
/// (such as streaming a response body) that no lower-level deadline covers.
func withToolTimeout<T: Sendable>(
    _ limit: Duration, _ operation: @escaping @Sendable () async throws -> T
) async throws -> T {
    try await withTimeout(limit, throwing: { ToolError("timed out after \(limit.shortDescription)") }, operation)
}
