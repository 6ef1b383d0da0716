import AsyncHTTPClient
import NIOCore

/// Runs one `web_fetch` hop on a connection to an address `FetchTargetPolicy` checked.
///
/// AsyncHTTPClient resolves host names itself when it connects; letting it would resolve the
/// name a second time, after the check, and a DNS server answering differently then (DNS
/// rebinding) could send the request to 127.0.0.1. Its only way to choose the connect address
/// is `Configuration.dnsOverride`, which is per client, so each hop gets a short-lived client
/// whose override maps the URL's host to the checked address. The request still carries the
/// original `Host` header, and TLS still sends the host name as SNI and verifies the
/// certificate against it. Connections are not reused across hops or fetches (each hop may
/// resolve differently), which costs a handshake per hop; `web_fetch` is not a hot path.
/// Run webhooks (KeelWebhooks) connect the same way.
public enum PinnedHTTPClient {
    /// Calls `body` with a client that connects to `address` for `host`, and shuts the client
    /// down afterwards (also on error or cancellation). `body` must finish reading the response
    /// before returning.
    public static func with<Result: Sendable>(
        host: String, address: IPAddress, configuration: HTTPClient.Configuration, eventLoopGroup: any EventLoopGroup,
        _ body: (HTTPClient) async throws -> Result
    ) async throws -> Result {
        var configuration = configuration
        // Keyed by the host exactly as AsyncHTTPClient reads it from the URL. IP-literal hosts
        // need no override: the client connects to the literal without resolving anything.
        configuration.dnsOverride = [host: address.description]
        let client = HTTPClient(eventLoopGroup: eventLoopGroup, configuration: configuration)
        do {
            let result = try await body(client)
            try? await client.shutdown()
            return result
        } catch {
            try? await client.shutdown()
            throw error
        }
    }
}
