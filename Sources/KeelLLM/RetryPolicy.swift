import KeelCore

/// How often and how long to wait before retrying a provider call that failed before any output.
///
/// Exponential backoff with jitter spreads retries from many sessions so that a provider that
/// is rate limiting or briefly down is not hit by synchronized waves of requests.
public struct RetryPolicy: Sendable, Hashable {
    /// Retries after the first attempt (so `maxRetries + 1` attempts at most).
    public var maxRetries: Int
    public var baseDelay: Duration
    public var maxDelay: Duration

    public init(maxRetries: Int = 3, baseDelay: Duration = .milliseconds(500), maxDelay: Duration = .seconds(8)) {
        self.maxRetries = max(0, maxRetries)
        self.baseDelay = baseDelay
        self.maxDelay = maxDelay
    }

    /// No retries at all, for callers that do their own.
    public static let none = RetryPolicy(maxRetries: 0)

    /// The wait before retry number `retry` (0-based). A provider's `Retry-After` wins over the
    /// computed backoff, but never beyond `maxDelay`, so one header cannot park a turn for minutes.
    public func delay(forRetry retry: Int, retryAfter: Double?) -> Duration {
        // "Equal jitter": half fixed, half random, so the delay never collapses to zero.
        Backoff(initial: baseDelay, maximum: maxDelay, jitter: .equal).delay(forRetry: retry, retryAfter: retryAfter)
    }
}
