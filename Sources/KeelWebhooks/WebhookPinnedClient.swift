import AsyncHTTPClient
import KeelCapabilities
import NIOCore

/// Runs one attempt on a connection to an address `WebhookAddressCheck` allowed.
///
/// The same technique as KeelCapabilities' internal `PinnedHTTPClient` (see there for the
/// reasoning): AsyncHTTPClient's only way to choose the connect address is the per-client
/// `dnsOverride`, so each attempt gets a short-lived client mapping the URL's host to the checked
/// address. The request keeps its `Host` header, TLS its SNI and certificate check. Replace with
/// `PinnedHTTPClient` once that is public.
enum WebhookPinnedClient {
    /// Calls `body` with a client that connects to `address` for `host` and shuts it down
    /// afterwards (also on error or cancellation); `body` must finish reading the response.
    static func with<Result: Sendable>(
        host: String, address: IPAddress, configuration: HTTPClient.Configuration, eventLoopGroup: any EventLoopGroup,
        _ body: (HTTPClient) async throws -> Result
    ) async throws -> Result {
        var configuration = configuration
        configuration.dnsOverride = [host: address.description]
        let client = HTTPClient(eventLoopGroup: eventLoopGroup, configuration: configuration)
        let result: Swift.Result<Result, any Error>
        do { result = .success(try await body(client)) } catch { result = .failure(error) }
        try? await client.shutdown()
        return try result.get()
    }
}
