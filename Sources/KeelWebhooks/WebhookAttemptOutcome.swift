import Foundation

/// What one POST attempt came to, and so whether the delivery is retried.
enum WebhookAttemptOutcome: Sendable, Hashable {
    /// 2xx: done.
    case delivered(status: Int)
    /// 5xx, 429, a connection error, a failed lookup or a timeout: worth another attempt.
    /// `retryAfter` is the receiver's `Retry-After` in seconds, when it sent one.
    case retryable(status: Int?, retryAfter: Double?, detail: String)
    /// Any other status (redirects are not followed), a refused address: retrying cannot help.
    case rejected(status: Int?, detail: String)
    /// The dispatcher is being torn down.
    case cancelled

    /// The outcome of a response with `status` and the raw `Retry-After` header value.
    static func classify(status: Int, retryAfter: String?) -> Self {
        switch status {
        case 200..<300: .delivered(status: status)
        case 429, 500..<600: .retryable(status: status, retryAfter: retryAfterSeconds(retryAfter), detail: "HTTP \(status)")
        case 300..<400: .rejected(status: status, detail: "HTTP \(status) (redirects are not followed)")
        default: .rejected(status: status, detail: "HTTP \(status)")
        }
    }

    /// A `Retry-After` in delay-seconds (RFC 9110 §10.2.3); `nil` for an HTTP-date or anything
    /// unreadable, which leaves the backoff schedule in charge.
    static func retryAfterSeconds(_ value: String?) -> Double? {
        guard let value, let seconds = Double(value.trimmingCharacters(in: .whitespaces)), seconds.isFinite else {
            return nil
        }
        return max(0, seconds)
    }
}
