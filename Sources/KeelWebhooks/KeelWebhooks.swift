/// # KeelWebhooks
///
/// Run-completion webhooks: a POST of the finished run to the URL its creator gave, signed with
/// HMAC-SHA256 when a signing secret is set, retried with backoff, and refused for private and
/// special-purpose addresses (the `web_fetch` policy) unless the operator allows them.
public enum KeelWebhooks {}
