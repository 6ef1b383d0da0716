import KeelCapabilities

/// Resolves a webhook host once and applies the `web_fetch` address policy to every address.
///
/// Same rules as `FetchTargetPolicy.check(url:)` — each address judged by `AddressClassification`
/// and against this host's own interface addresses, all skipped when private addresses are
/// allowed — but with errors that tell a failed lookup (worth retrying) from a refusal (not), and
/// reasons that never quote the URL. The caller must connect to one of the returned addresses
/// (`PinnedHTTPClient` of KeelCapabilities), never resolve the name again: a DNS server answering differently the
/// second time (DNS rebinding) would otherwise steer the POST to an address nobody checked.
struct WebhookAddressCheck: Sendable {
    enum Failure: Error, Sendable {
        /// The name did not resolve now; it may later.
        case unresolvable(String)
        /// An address is not allowed.
        case refused(WebhookRefusal)
    }

    /// Supplies the switch, the resolver and this host's addresses (each injectable for tests).
    let policy: FetchTargetPolicy

    /// The host's addresses, every one allowed (never empty).
    func addresses(for target: WebhookTarget) async throws(Failure) -> [IPAddress] {
        let addresses: [IPAddress]
        if let literal = IPAddress(target.host) {
            addresses = [literal]
        } else {
            do {
                addresses = try await policy.resolve(target.host)
            } catch {
                throw .unresolvable("could not resolve webhook host '\(target.host)'")
            }
        }
        guard !addresses.isEmpty else { throw .unresolvable("webhook host '\(target.host)' has no IP addresses") }
        guard !policy.allowPrivateAddresses else { return addresses }
        let local = policy.localAddresses()
        for address in addresses {
            if let reason = AddressClassification.blockReason(address) ?? (local.contains(address) ? "this host's own" : nil) {
                throw .refused(WebhookRefusal(
                    "webhook host '\(target.host)' resolves to \(address), a \(reason) address; only public addresses are allowed"))
            }
        }
        return addresses
    }

    /// The address to connect to: IPv4 first, since many hosts publish AAAA records without
    /// having IPv6 connectivity (as `web_fetch` does).
    static func preferred(_ addresses: [IPAddress]) -> IPAddress? {
        addresses.first { if case .v4 = $0 { true } else { false } } ?? addresses.first
    }
}
