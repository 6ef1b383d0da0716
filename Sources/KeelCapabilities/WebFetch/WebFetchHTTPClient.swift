import AsyncHTTPClient

/// The HTTP settings `web_fetch` uses, and the client whose event loop group it runs on.
///
/// Redirects are never followed by the client (the shared AsyncHTTPClient follows up to 20 by
/// itself, which would let a public URL redirect to `http://169.254.169.254/` before the tool
/// could check the target): `WebFetchTool` sees every hop, re-checks it and connects to the
/// checked address through a per-hop client built from `configuration` (`PinnedHTTPClient`).
public enum WebFetchHTTPClient {
    /// Redirects disallowed; a connect timeout well below the tool's own overall timeout.
    public static var configuration: HTTPClient.Configuration {
        var configuration = HTTPClient.Configuration()
        configuration.redirectConfiguration = .disallow
        configuration.timeout = HTTPClient.Configuration.Timeout(connect: .seconds(10), read: .seconds(30))
        return configuration
    }

    /// Process-wide and never shut down, like `HTTPClient.shared`; `WebFetchTool` takes its
    /// event loop group.
    public static let shared = HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: configuration)
}
