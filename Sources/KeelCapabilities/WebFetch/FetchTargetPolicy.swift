import Foundation
import KeelCore

/// Decides whether `web_fetch` may contact a URL: the first request and every redirect target.
///
/// The check resolves the host itself and refuses the URL when any resolved address is
/// non-public. The HTTP client resolves the name again when it connects, so a DNS server that
/// answers differently the second time (DNS rebinding) is not covered; pinning the connection
/// to the checked address would need a per-request resolver, which AsyncHTTPClient does not offer.
struct FetchTargetPolicy: Sendable {
    var allowPrivateAddresses: Bool
    /// Injectable so tests can check the policy without real DNS.
    var resolve: @Sendable (String) async throws -> [IPAddress] = { try await HostResolver.resolve($0) }

    /// Returns when `url` may be fetched; throws a `ToolError` explaining the refusal otherwise.
    func check(_ url: URL) async throws {
        guard let scheme = url.scheme?.lowercased(), scheme == "http" || scheme == "https" else {
            throw ToolError("only http and https URLs are allowed (got '\(url.absoluteString)')")
        }
        guard var host = url.host, !host.isEmpty else {
            throw ToolError("URL '\(url.absoluteString)' has no host")
        }
        if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        guard !allowPrivateAddresses else { return }
        let addresses = try await resolve(host)
        for address in addresses.sorted(by: { $0.description < $1.description }) {
            if let reason = AddressClassification.blockReason(address) {
                throw ToolError(
                    "refusing to fetch '\(url.absoluteString)': \(host) resolves to \(address), a \(reason) address; only public addresses may be fetched"
                )
            }
        }
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
