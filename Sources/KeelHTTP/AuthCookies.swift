import HTTPTypes
import Hummingbird

/// The session cookies: HTTP-only, `SameSite=Lax` (cross-site POSTs carry none, so no CSRF token is
/// needed), `Secure` when the request came over TLS (directly or per `X-Forwarded-Proto`).
enum AuthCookies {
    static let accessToken = "access_token"
    static let refreshToken = "refresh_token"
    static let oauthFlow = "keel_oauth_flow"
    /// The organization the web UI acts in; set by the UI's own script (not HTTP-only), and only a
    /// preference among the user's memberships.
    static let organization = "keel_org"

    static func value(of name: String, in request: Request) -> String? {
        for header in request.headers[values: .cookie] {
            for pair in header.split(separator: ";") {
                let parts = pair.split(separator: "=", maxSplits: 1)
                if parts.count == 2, parts[0].trimmingCharacters(in: .whitespaces) == name {
                    let value = parts[1].trimmingCharacters(in: .whitespaces)
                    return value.isEmpty ? nil : value
                }
            }
        }
        return nil
    }

    static func isSecure(_ request: Request) -> Bool {
        request.head.scheme == "https" || request.headers[.xForwardedProto]?.lowercased() == "https"
    }

    /// A `Set-Cookie` value; `maxAge` 0 clears the cookie.
    static func header(_ name: String, _ value: String, path: String, maxAge: Int, secure: Bool) -> String {
        var cookie = "\(name)=\(value); Path=\(path); Max-Age=\(maxAge); HttpOnly; SameSite=Lax"
        if secure { cookie += "; Secure" }
        return cookie
    }
}

extension HTTPField.Name {
    static let xForwardedProto = Self("X-Forwarded-Proto")!
}
