import Foundation

/// Why a webhook URL is not acceptable: a short sentence for the run's creator. It never quotes
/// the URL, whose query may carry the receiver's token.
struct WebhookRefusal: Error, Sendable, Hashable {
    var reason: String
    init(_ reason: String) { self.reason = reason }
}

/// A webhook URL that passed every check that needs no network: an absolute http(s) URL within the
/// length limit, with a host and no user information.
struct WebhookTarget: Sendable, Hashable {
    let url: URL
    /// The host as the HTTP client reads it from the URL, IPv6 brackets removed.
    let host: String

    init(validating text: String, maxLength: Int) throws(WebhookRefusal) {
        guard text.count <= maxLength else { throw WebhookRefusal("webhook URL is longer than \(maxLength) characters") }
        guard let url = URL(string: text), let scheme = url.scheme else {
            throw WebhookRefusal("webhook URL is not an absolute URL")
        }
        guard ["http", "https"].contains(scheme.lowercased()) else {
            throw WebhookRefusal("webhook URL must use http or https")
        }
        guard url.user == nil, url.password == nil else {
            throw WebhookRefusal("webhook URL must not contain user information (user:password@)")
        }
        guard var host = url.host, !host.isEmpty else { throw WebhookRefusal("webhook URL has no host") }
        if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        self.url = url
        self.host = host
    }

    /// `text` fit for logs: scheme, host, port and path only (no user information, query or
    /// fragment, which may carry credentials), at most 200 characters.
    static func loggable(_ text: String) -> String {
        guard var components = URLComponents(string: text) else { return "<invalid URL>" }
        components.user = nil
        components.password = nil
        components.query = nil
        components.fragment = nil
        guard let redacted = components.string else { return "<invalid URL>" }
        return redacted.count > 200 ? String(redacted.prefix(200)) + "…" : redacted
    }
}
