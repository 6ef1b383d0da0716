import KeelCore

/// Runs `operation`, failing with `ToolError("timed out after …")` as soon as it has not finished
/// within `limit`.
///
/// The operation is cancelled when the limit passes and awaited only for `withDeadline`'s short
/// grace, so a part that does not honour cancellation cannot stretch the call past its limit.
/// Used to bound the whole of a tool call, including parts (such as streaming a response body)
/// that no lower-level deadline covers.
func withToolTimeout<T: Sendable>(
    _ limit: Duration, _ operation: @escaping @Sendable () async throws -> T
) async throws -> T {
    try await withDeadline(limit, throwing: { ToolError("timed out after \(limit.shortDescription)") }, operation)
}
