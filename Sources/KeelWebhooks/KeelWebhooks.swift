/// # KeelWebhooks
///
/// Run-completion webhooks: a POST of the finished run to the URL its creator gave, signed with
/// HMAC-SHA256 when a signing secret is set, retried with backoff, and refused for private and
/// special-purpose addresses (the `web_fetch` policy) unless the operator allows them.
///
/// - `WebhookDispatcher`: the `Service` that checks URLs at run creation
///   (`refusal(forWebhookURL:)`), queues deliveries (`enqueue(_:)`) and sends them (`run()`).
/// - `WebhookSettings`, `WebhookDelivery`, `WebhookDeliveryReport`: its inputs and outcomes.
/// - `WebhookSignature`: signs and verifies the `X-Keel-Webhook-Signature` header.
///
/// The wire format, retry schedule and limits are documented in `docs/webhooks.md`.
public enum KeelWebhooks {}
