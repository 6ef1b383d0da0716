import Foundation
import KeelCore

/// Decides whether the server may contact a URL on a user's or a model's behalf: `web_fetch`'s
/// first request and every redirect target, and (through the same entry point) any other
/// user-supplied outbound URL such as a provider's `base_url`.
///
/// `check(url:)` resolves the host once and refuses the URL when any resolved address is
/// special-purpose (see `AddressClassification`) or one of this host's own interface addresses.
/// It returns the addresses it checked: a caller must connect to one of those, never resolve the
/// name again, or a DNS server answering differently the second time (DNS rebinding) would
/// steer the connection to an address that was never checked. `web_fetch` pins its connections
/// this way (see `PinnedHTTPClient`).
public struct FetchTargetPolicy: Sendable {
    public var allowPrivateAddresses: Bool
    /// Injectable so tests can check the policy without real DNS.
    public var resolve: @Sendable (String) async throws -> [IPAddress]
    /// This host's own addresses, read at each check; injectable for tests.
    public var localAddresses: @Sendable () -> Set<IPAddress>

    public init(
        allowPrivateAddresses: Bool,
        resolve: @escaping @Sendable (String) async throws -> [IPAddress] = { try await HostResolver.resolve($0) },
        localAddresses: @escaping @Sendable () -> Set<IPAddress> = { LocalInterfaceAddresses.current() }
    ) {
        self.allowPrivateAddresses = allowPrivateAddresses
        self.resolve = resolve
        self.localAddresses = localAddresses
    }

    /// Checks that `url` is an http(s) URL whose host may be contacted and returns the host's
    /// addresses (never empty), every one of them checked; throws a `ToolError` explaining the
    /// refusal otherwise. With `allowPrivateAddresses` only the scheme and host are checked, but
    /// the name is still resolved once so the caller can pin its connection.
    @discardableResult
    public func check(url: URL) async throws -> [IPAddress] {
        let host = try Self.host(of: url)
        let addresses: [IPAddress]
        if let literal = IPAddress(host) { addresses = [literal] } else { addresses = try await resolve(host) }
        guard !addresses.isEmpty else { throw ToolError("could not resolve host '\(host)': no IP addresses") }
        guard !allowPrivateAddresses else { return addresses }
        let local = localAddresses()
        for address in addresses.sorted(by: { $0.description < $1.description }) {
            let reason = AddressClassification.blockReason(address) ?? (local.contains(address) ? "this host's own" : nil)
            if let reason {
                throw ToolError(
                    "refusing to fetch '\(url.absoluteString)': \(host) resolves to \(address), a \(reason) address; only public addresses may be fetched"
                )
            }
        }
        return addresses
    }

    /// The URL's host without IPv6 brackets, after checking the scheme.
    static func host(of url: URL) throws -> String {
        guard let scheme = url.scheme?.lowercased(), scheme == "http" || scheme == "https" else {
            throw ToolError("only http and https URLs are allowed (got '\(url.absoluteString)')")
        }
        guard var host = url.host, !host.isEmpty else {
            throw ToolError("URL '\(url.absoluteString)' has no host")
        }
        if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        return host
    }

    /// Parses model input into an absolute http(s) URL.
    static func parse(_ text: String) throws -> URL {
        let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
        guard let url = URL(string: trimmed), url.scheme != nil else {
            throw ToolError("'\(text)' is not an absolute URL")
        }
        return url
    }
}
