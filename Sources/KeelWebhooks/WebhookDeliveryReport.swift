/// How one delivery ended, passed to the dispatcher's `onFinished` callback (metrics, tests).
public struct WebhookDeliveryReport: Sendable, Hashable {
    public enum Outcome: Sendable, Hashable {
        /// The receiver answered 2xx.
        case delivered
        /// Not retried: a 3xx or 4xx other than 429, a refused address or an invalid URL.
        case rejected
        /// Every attempt failed with a retryable error (5xx, 429, connection error, timeout).
        case exhausted
        /// Never attempted, or not retried, because the buffer was full or the dispatcher was stopping.
        case dropped
    }

    public var id: String
    public var outcome: Outcome
    /// Attempts made (0 for a dropped delivery).
    public var attempts: Int
    /// The last HTTP status received, if any.
    public var status: Int?
    /// A short reason for anything but `.delivered`; never contains the URL's query or a secret.
    public var detail: String?

    public init(id: String, outcome: Outcome, attempts: Int, status: Int? = nil, detail: String? = nil) {
        self.id = id
        self.outcome = outcome
        self.attempts = attempts
        self.status = status
        self.detail = detail
    }
}
