import Foundation
import KeelCore

/// Which endpoints are the operator's: the only places a `DEFAULT_*_API_KEY` may be sent.
extension EngineConfiguration {
    /// The drivers' built-in endpoints (KeelLLM's `*Driver.defaultBaseURL`; a test keeps the two
    /// in step), used when no `*_BASE_URL` is set.
    public static let builtInBaseURLs: [ProviderType: String] = [
        .openai: "https://api.openai.com/v1",
        .anthropic: "https://api.anthropic.com",
        .gemini: "https://generativelanguage.googleapis.com/v1beta",
    ]

    /// The operator-configured endpoint of a provider type: `*_BASE_URL`, else the built-in one.
    public func operatorBaseURL(_ type: ProviderType) -> String? {
        baseURLs[type] ?? Self.builtInBaseURLs[type]
    }

    /// The URL calls through `provider` go to; nil means the driver's built-in endpoint.
    public func endpointBaseURL(of provider: LLMProvider) -> String? {
        provider.baseURL ?? baseURLs[provider.providerType]
    }

    /// True when `baseURL` (an endpoint's URL, nil for the driver default) is the operator's
    /// endpoint for `type`.
    public func isOperatorEndpoint(_ baseURL: String?, type: ProviderType) -> Bool {
        guard let baseURL else { return true }
        guard let operatorURL = operatorBaseURL(type) else { return false }
        return EndpointURL.same(baseURL, operatorURL)
    }

    /// The `DEFAULT_*_API_KEY` for calls to `baseURL`, only when that is the operator's endpoint
    /// of the type: a provider pointed anywhere else never receives the operator's key.
    public func defaultAPIKey(forEndpoint baseURL: String?, type: ProviderType) -> String? {
        guard let key = defaultAPIKeys[type], isOperatorEndpoint(baseURL, type: type) else { return nil }
        return key
    }

    /// Whether a call through `provider` has a key: `llmsim` needs none, a stored key counts
    /// (whether it still decrypts is only known when it is used), and the default key counts
    /// only for the operator's endpoint.
    public func hasAPIKey(_ provider: LLMProvider) -> Bool {
        provider.providerType == .llmsim || provider.encryptedAPIKey != nil
            || defaultAPIKey(forEndpoint: endpointBaseURL(of: provider), type: provider.providerType) != nil
    }
}

/// Compares endpoint URLs the way a connection sees them: scheme and host case-insensitively,
/// the scheme's default port made explicit, the path without trailing slashes.
enum EndpointURL {
    static func same(_ first: String, _ second: String) -> Bool {
        guard let a = canonical(first), let b = canonical(second) else { return false }
        return a == b
    }

    static func canonical(_ text: String) -> String? {
        guard let components = URLComponents(string: text.trimmingCharacters(in: .whitespaces)),
              let scheme = components.scheme?.lowercased(), let host = components.host?.lowercased(), !host.isEmpty,
              components.user == nil, components.password == nil
        else { return nil }
        let port = components.port ?? (scheme == "https" ? 443 : scheme == "http" ? 80 : -1)
        var path = components.percentEncodedPath
        while path.hasSuffix("/") { path.removeLast() }
        let query = components.percentEncodedQuery.map { "?\($0)" } ?? ""
        return "\(scheme)://\(host):\(port)\(path)\(query)"
    }
}
