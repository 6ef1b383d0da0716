/// Operator settings of run-completion webhooks, shared by every delivery.
///
/// `description` never shows the signing secret, so the settings can be logged as they are.
public struct WebhookSettings: Sendable, Hashable, CustomStringConvertible {
    /// `WEBHOOK_SIGNING_SECRET`: the HMAC-SHA256 key of the `X-Keel-Webhook-Signature` header;
    /// `nil` (or empty) sends deliveries unsigned.
    public var signingSecret: String?
    /// `WEB_FETCH_ALLOW_PRIVATE_ADDRESSES`: when false (the default) webhook hosts that resolve to
    /// loopback, private, link-local or other special-purpose addresses are refused — the
    /// `web_fetch` policy, so a run's creator cannot make the server POST to internal services.
    public var allowPrivateAddresses: Bool
    /// Attempts per delivery, the first included (at least 1).
    public var maxAttempts: Int
    /// The wait before the first retry; doubled for each later one, capped at `maxBackoff`, ±20% jitter.
    public var initialBackoff: Duration
    /// The longest wait between attempts, also for a receiver's `Retry-After`.
    public var maxBackoff: Duration
    /// Bound on one attempt: resolving the host, connecting, sending and reading the status.
    public var timeout: Duration
    /// Longest webhook URL accepted, in characters.
    public var maxURLLength: Int

    public init(
        signingSecret: String? = nil, allowPrivateAddresses: Bool = false, maxAttempts: Int = 5,
        initialBackoff: Duration = .seconds(1), maxBackoff: Duration = .seconds(30), timeout: Duration = .seconds(10),
        maxURLLength: Int = 2048
    ) {
        self.signingSecret = signingSecret
        self.allowPrivateAddresses = allowPrivateAddresses
        self.maxAttempts = max(1, maxAttempts)
        self.initialBackoff = initialBackoff
        self.maxBackoff = maxBackoff
        self.timeout = timeout
        self.maxURLLength = maxURLLength
    }

    /// The secret to sign with: `nil` when unset or empty.
    var effectiveSecret: String? { signingSecret.flatMap { $0.isEmpty ? nil : $0 } }

    public var description: String {
        "WebhookSettings(signed: \(effectiveSecret != nil), allowPrivateAddresses: \(allowPrivateAddresses), "
            + "maxAttempts: \(maxAttempts), initialBackoff: \(initialBackoff), maxBackoff: \(maxBackoff), "
            + "timeout: \(timeout), maxURLLength: \(maxURLLength))"
    }
}
