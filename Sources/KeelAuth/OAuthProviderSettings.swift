import KeelCore

/// One OAuth identity provider: its client credentials and endpoints. The endpoint variables
/// exist for GitHub Enterprise, Google-compatible issuers and tests; the defaults are the public
/// services.
public struct OAuthProviderSettings: Sendable {
    public enum Kind: String, Sendable { case github, google }

    public var kind: Kind
    public var clientID: String
    public var clientSecret: String
    public var authorizeURL: String
    public var tokenURL: String
    public var userInfoURL: String
    /// GitHub's list of the user's emails, read when the profile hides its email.
    public var emailsURL: String?
    public var scopes: [String]

    public var name: String { kind.rawValue }

    public init(
        kind: Kind, clientID: String, clientSecret: String, authorizeURL: String, tokenURL: String,
        userInfoURL: String, emailsURL: String? = nil, scopes: [String]
    ) {
        self.kind = kind
        self.clientID = clientID
        self.clientSecret = clientSecret
        self.authorizeURL = authorizeURL
        self.tokenURL = tokenURL
        self.userInfoURL = userInfoURL
        self.emailsURL = emailsURL
        self.scopes = scopes
    }

    /// The providers whose client id and secret are both set; one without the other is an error.
    static func configured(reader: EnvironmentReader) throws(ConfigurationError) -> [OAuthProviderSettings] {
        var providers: [OAuthProviderSettings] = []
        let defaults: [(Kind, authorize: String, token: String, user: String, emails: String?, scopes: [String])] = [
            (
                .github, "https://github.com/login/oauth/authorize", "https://github.com/login/oauth/access_token",
                "https://api.github.com/user", "https://api.github.com/user/emails", ["read:user", "user:email"]
            ),
            (
                .google, "https://accounts.google.com/o/oauth2/v2/auth", "https://oauth2.googleapis.com/token",
                "https://openidconnect.googleapis.com/v1/userinfo", nil, ["openid", "email", "profile"]
            ),
        ]
        for entry in defaults {
            let prefix = "AUTH_\(entry.0.rawValue.uppercased())"
            let id = reader.value("\(prefix)_CLIENT_ID")
            let secret = reader.value("\(prefix)_CLIENT_SECRET")
            switch (id, secret) {
            case (nil, nil):
                continue
            case (.some, nil):
                throw ConfigurationError(variable: "\(prefix)_CLIENT_SECRET", message: "required with \(prefix)_CLIENT_ID")
            case (nil, .some):
                throw ConfigurationError(variable: "\(prefix)_CLIENT_ID", message: "required with \(prefix)_CLIENT_SECRET")
            case (.some(let id), .some(let secret)):
                providers.append(
                    OAuthProviderSettings(
                        kind: entry.0, clientID: id, clientSecret: secret,
                        authorizeURL: reader.string("\(prefix)_AUTHORIZE_URL", default: entry.authorize),
                        tokenURL: reader.string("\(prefix)_TOKEN_URL", default: entry.token),
                        userInfoURL: reader.string("\(prefix)_USERINFO_URL", default: entry.user),
                        emailsURL: entry.emails.map { reader.string("\(prefix)_EMAILS_URL", default: $0) },
                        scopes: entry.scopes))
            }
        }
        return providers
    }
}
