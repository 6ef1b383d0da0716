import Foundation

/// Decides whether a provider's `base_url` may be contacted: the same address policy as
/// `web_fetch` (private, loopback and special-purpose ranges refused unless the operator allows
/// them with `LLM_ALLOW_PRIVATE_BASE_URLS`).
///
/// KeelEngine and KeelHTTP do not depend on KeelCapabilities, where the policy lives; the server
/// injects it here. The check runs when a provider is created or its `base_url` changed, and again
/// before a turn's key is handed out, so a name that later resolves to a private address gets no
/// request. The operator's own `*_BASE_URL` endpoints are trusted and never checked.
public struct ProviderAddressPolicy: Sendable {
    /// Throws an error whose description says why the URL is refused.
    public let check: @Sendable (URL) async throws -> Void

    public init(check: @escaping @Sendable (URL) async throws -> Void) {
        self.check = check
    }

    /// Allows every address: for tests and embeddings that wire no policy.
    public static let unrestricted = ProviderAddressPolicy { _ in }

    /// Why `baseURL` is refused, or nil when it may be contacted (an unparsable URL is refused).
    public func refusal(_ baseURL: String) async -> String? {
        guard let url = URL(string: baseURL) else { return "base_url is not a valid URL" }
        do {
            try await check(url)
            return nil
        } catch {
            return String(describing: error)
        }
    }
}
