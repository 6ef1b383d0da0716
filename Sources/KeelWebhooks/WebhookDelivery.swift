import KeelCore

/// One webhook to send: `body` is POSTed as compact JSON to `url`.
public struct WebhookDelivery: Sendable, Hashable {
    /// The receiver's http(s) URL, as the run's creator gave it (checked again before each attempt).
    public var url: String
    /// The payload, e.g. the final run object.
    public var body: JSONValue
    /// Sent as `X-Keel-Webhook-Id` on every attempt so receivers can drop repeats; the run id.
    public var id: String

    public init(url: String, body: JSONValue, id: String) {
        self.url = url
        self.body = body
        self.id = id
    }
}
