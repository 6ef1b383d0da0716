/// Limits and network policy of the `web_fetch` tool.
public struct WebFetchConfiguration: Sendable, Hashable {
    /// When false (the default) requests to loopback, private, link-local and other
    /// non-public addresses are refused, so a model cannot use the server to reach internal
    /// services (SSRF). Tests and local development turn it on to fetch from 127.0.0.1.
    public var allowPrivateAddresses: Bool
    /// Most body bytes returned; longer bodies are cut and flagged `truncated: true`.
    public var maxBytes: Int
    /// Limit for the whole fetch: every redirect hop plus reading the body.
    public var timeout: Duration
    /// Most redirects followed; each target is checked like the original URL.
    public var maxRedirects: Int

    public init(
        allowPrivateAddresses: Bool = false, maxBytes: Int = 1 << 20, timeout: Duration = .seconds(30), maxRedirects: Int = 5
    ) {
        self.allowPrivateAddresses = allowPrivateAddresses
        self.maxBytes = maxBytes
        self.timeout = timeout
        self.maxRedirects = maxRedirects
    }
}
