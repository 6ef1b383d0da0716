import Foundation
import KeelCore

/// How the API authenticates (`AUTH_MODE`).
public enum AuthMode: String, Sendable, CaseIterable {
    /// Every request acts as the seeded anonymous administrator of the default organization.
    case none
    /// One administrator account (`AUTH_ADMIN_EMAIL`, `AUTH_ADMIN_PASSWORD`); no sign-up.
    case admin
    /// Sign-up, login, organizations, API keys and OAuth.
    case full
}

/// The `AUTH_*` variables. Secure by default: outside DEV_MODE the mode is `full` unless
/// `AUTH_MODE=none` is set explicitly, and tokens need `AUTH_JWT_SECRET`.
public struct AuthSettings: Sendable {
    public var mode: AuthMode
    /// True when `AUTH_MODE` was set, false when the default applied.
    public var modeWasExplicit: Bool
    public var adminEmail: String?
    public var adminPassword: String?
    /// Signs access tokens (HS256). Nil in DEV_MODE without `AUTH_JWT_SECRET`: a random per-process
    /// secret is used, so tokens do not survive a restart.
    public var jwtSecret: String?
    public var signupEnabled: Bool
    public var accessTokenLifetime: Duration
    public var refreshTokenLifetime: Duration
    /// bcrypt work factor (4–31; each step doubles the time).
    public var bcryptCost: Int
    public var rateLimits: AuthRateLimits
    public var oauthProviders: [OAuthProviderSettings]
    /// The externally visible origin (`https://keel.example.com`) the OAuth callback URLs are built
    /// from; `API_PREFIX` + `/v1/auth/callback/{provider}` is appended.
    public var publicURL: String

    public init(
        mode: AuthMode, modeWasExplicit: Bool = true, adminEmail: String? = nil, adminPassword: String? = nil,
        jwtSecret: String? = nil, signupEnabled: Bool = true, accessTokenLifetime: Duration = .seconds(900),
        refreshTokenLifetime: Duration = .seconds(30 * 86_400), bcryptCost: Int = 12,
        rateLimits: AuthRateLimits = AuthRateLimits(), oauthProviders: [OAuthProviderSettings] = [],
        publicURL: String = "http://localhost:9300"
    ) {
        self.mode = mode
        self.modeWasExplicit = modeWasExplicit
        self.adminEmail = adminEmail
        self.adminPassword = adminPassword
        self.jwtSecret = jwtSecret
        self.signupEnabled = signupEnabled
        self.accessTokenLifetime = accessTokenLifetime
        self.refreshTokenLifetime = refreshTokenLifetime
        self.bcryptCost = bcryptCost
        self.rateLimits = rateLimits
        self.oauthProviders = oauthProviders
        self.publicURL = publicURL
    }

    /// Reads and checks the `AUTH_*` variables; an incomplete configuration is one
    /// `ConfigurationError` naming the variable.
    public init(environment: [String: String], devMode: Bool, port: Int) throws(ConfigurationError) {
        let reader = EnvironmentReader(environment: environment)
        modeWasExplicit = reader.value("AUTH_MODE") != nil
        mode = try reader.choice("AUTH_MODE", default: devMode ? .none : .full)
        adminEmail = reader.value("AUTH_ADMIN_EMAIL")?.lowercased()
        adminPassword = reader.value("AUTH_ADMIN_PASSWORD")
        jwtSecret = reader.value("AUTH_JWT_SECRET")
        signupEnabled = !(try reader.bool("AUTH_DISABLE_SIGNUP", default: false))
        accessTokenLifetime = .seconds(try reader.positiveInt("AUTH_ACCESS_TOKEN_TTL_SECS", default: 900))
        refreshTokenLifetime = .seconds(try reader.positiveInt("AUTH_REFRESH_TOKEN_TTL_DAYS", default: 30) * 86_400)
        bcryptCost = try reader.int("AUTH_BCRYPT_COST", minimum: 4, maximum: 31) ?? 12
        rateLimits = try AuthRateLimits(reader: reader)
        publicURL = reader.string("AUTH_PUBLIC_URL", default: "http://localhost:\(port)")
        oauthProviders = try OAuthProviderSettings.configured(reader: reader)
        try validate()
    }

    /// What start-up refuses outside DEV_MODE: signed tokens need a secret every instance shares.
    public func checkForProduction() throws(ConfigurationError) {
        if mode != .none, jwtSecret == nil {
            throw ConfigurationError(
                variable: "AUTH_JWT_SECRET",
                message: "required with AUTH_MODE=\(mode.rawValue) outside DEV_MODE (at least 32 characters; "
                    + "or set AUTH_MODE=none explicitly to run without authentication)")
        }
    }

    private func validate() throws(ConfigurationError) {
        if mode == .admin {
            guard let adminEmail, adminEmail.contains("@") else {
                throw ConfigurationError(
                    variable: "AUTH_ADMIN_EMAIL", message: "required with AUTH_MODE=admin (an email address)")
            }
            guard let adminPassword else {
                throw ConfigurationError(variable: "AUTH_ADMIN_PASSWORD", message: "required with AUTH_MODE=admin")
            }
            guard PasswordRules.isAcceptable(adminPassword) else {
                throw ConfigurationError(
                    variable: "AUTH_ADMIN_PASSWORD", message: "must be \(PasswordRules.lengthText)")
            }
        }
        if let jwtSecret, jwtSecret.utf8.count < 32 {
            throw ConfigurationError(variable: "AUTH_JWT_SECRET", message: "must be at least 32 characters")
        }
        guard let url = URL(string: publicURL), url.scheme == "http" || url.scheme == "https", url.host != nil else {
            throw ConfigurationError.invalid("AUTH_PUBLIC_URL", expected: "an http(s) origin", got: publicURL)
        }
    }
}

/// What a password must be. bcrypt reads at most 72 bytes, so a longer password is refused rather
/// than silently cut.
public enum PasswordRules {
    public static let minimumCharacters = 8
    public static let maximumBytes = 72
    public static let lengthText = "at least \(minimumCharacters) characters and at most \(maximumBytes) bytes"

    public static func isAcceptable(_ password: String) -> Bool {
        password.count >= minimumCharacters && password.utf8.count <= maximumBytes
    }
}
