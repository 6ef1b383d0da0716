import AsyncHTTPClient

/// The HTTP client `web_fetch` uses unless one is injected.
///
/// It is not `HTTPClient.shared` on purpose: the shared client follows up to 20 redirects by
/// itself, which would let a public URL redirect to `http://169.254.169.254/` before the tool
/// could check the target. This client never follows redirects, so `WebFetchTool` sees every
/// hop and re-checks it. An injected client should be configured the same way (see
/// `configuration`); if it does follow redirects, the tool still re-checks the hops it reports,
/// but only after they were requested.
public enum WebFetchHTTPClient {
    /// Redirects disallowed; a connect timeout well below the tool's own overall timeout.
    public static var configuration: HTTPClient.Configuration {
        var configuration = HTTPClient.Configuration()
        configuration.redirectConfiguration = .disallow
        configuration.timeout = HTTPClient.Configuration.Timeout(connect: .seconds(10), read: .seconds(30))
        return configuration
    }

    /// Process-wide and never shut down, like `HTTPClient.shared`.
    public static let shared = HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: configuration)
}
