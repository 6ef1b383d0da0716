/// KeelBench — the `keel-bench` load generator and its OpenAI-protocol mock, a black-box client of
/// the `keel` binary (it links no Keel module).
///
/// `BenchError` is the one error type of the benchmark: what went wrong, in words for the report.
public enum BenchError: Error, Sendable, CustomStringConvertible {
    /// A child process could not be started, or ended when it should not have.
    case process(String)
    /// The server answered an API call with something unexpected.
    case api(String)
    /// A session's SSE stream broke and could not be resumed.
    case stream(String)
    /// A turn's terminal event did not arrive in time.
    case turnTimeout(Duration)
    /// The database could not be prepared.
    case database(String)
    /// Options that cannot work together.
    case usage(String)

    public var description: String {
        switch self {
        case .process(let detail), .api(let detail), .stream(let detail), .database(let detail), .usage(let detail):
            detail
        case .turnTimeout(let timeout):
            "no terminal event within \(timeout)"
        }
    }
}

/// Runs `body` in a task of its own that the caller's cancellation does not reach: clean-up
/// (stopping processes, dropping the database) must finish even when Ctrl-C cancelled the run.
func uncancelled<T: Sendable>(_ body: @escaping @Sendable () async -> T) async -> T {
    await Task.detached { await body() }.value
}
