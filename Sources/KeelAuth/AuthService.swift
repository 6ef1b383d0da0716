import Foundation
import KeelCore
import Logging

/// Tokens handed to a client after sign-in or refresh. The refresh token is shown here once; only
/// its hash is stored.
public struct IssuedTokens: Sendable {
    public var accessToken: String
    public var expiresIn: Int
    public var refreshToken: String
    public var refreshExpiresIn: Int
    public var user: UserAccount
}

/// Account operations and credential checks over one `AuthStore`. See the module overview.
public struct AuthService: Sendable {
    public static let anonymousUserID = "user_00000000000000000000000000000001"

    public let settings: AuthSettings
    let store: any AuthStore
    let tokens: AccessTokens
    let hasher: PasswordHasher
    let limiter: SlidingWindowLimiter
    let oauthFlows: OAuthFlowSigner
    /// Gives a new organization what every organization starts with (the built-in providers).
    let provisionOrganization: @Sendable (String) async throws -> Void
    let logger: Logger
    /// A hash to verify against when the email is unknown, so a miss costs what a hit costs (empty
    /// in AUTH_MODE=none, which has no logins).
    let decoyHash: String

    public init(
        settings: AuthSettings, store: any AuthStore, logger: Logger = Logger(label: "keel.auth"),
        provisionOrganization: @escaping @Sendable (String) async throws -> Void
    ) async throws {
        self.settings = settings
        self.store = store
        self.logger = logger
        self.provisionOrganization = provisionOrganization
        let secret = settings.jwtSecret ?? SecretTokens.randomHex(bytes: 32)
        tokens = await AccessTokens(secret: secret, lifetime: settings.accessTokenLifetime)
        hasher = PasswordHasher(cost: settings.bcryptCost)
        limiter = SlidingWindowLimiter(window: settings.rateLimits.window)
        // AUTH_MODE=none has no logins: no decoy, and no quarter second of bcrypt at every start
        // (a test run starting a hundred servers at once queued a hundred of them on the hashing
        // pool, and sign-ins waited behind them for half a minute).
        decoyHash = settings.mode == .none ? "" : try await hasher.hash(SecretTokens.randomHex(bytes: 16))
        oauthFlows = await OAuthFlowSigner(secret: secret)
    }

    // MARK: Start-up

    /// Makes the accounts the mode needs: the default organization, the anonymous user
    /// (AUTH_MODE=none) or the administrator (AUTH_MODE=admin, or full with AUTH_ADMIN_*), who owns
    /// the default organization. The administrator's password follows the environment. Runs with
    /// the storage seeding, before the first request.
    public static func bootstrap(_ settings: AuthSettings, store: any AuthStore, logger: Logger) async throws {
        if try await store.organization(id: BuiltIn.organizationID) == nil {
            try await store.insertOrganization(Organization(id: BuiltIn.organizationID, name: "Default"))
        }
        if settings.mode == .none {
            if try await store.user(id: anonymousUserID) == nil {
                try await store.insertUser(
                    UserAccount(
                        id: anonymousUserID, email: "anonymous@local", name: "Anonymous", authProvider: "anonymous",
                        roles: ["admin"]))
            }
            try await store.upsertMembership(
                Membership(userID: anonymousUserID, organizationID: BuiltIn.organizationID, role: .owner))
            return
        }
        guard let email = settings.adminEmail, let password = settings.adminPassword else { return }
        let hasher = PasswordHasher(cost: settings.bcryptCost)
        let adminID: String
        if let existing = try await store.user(email: email) {
            var unchanged = false
            if let stored = existing.passwordHash { unchanged = try await hasher.verify(password, against: stored) }
            let hash = unchanged ? existing.passwordHash : try await hasher.hash(password)
            try await store.updateUser(id: existing.id) { user in
                user.passwordHash = hash
                if !user.roles.contains("admin") { user.roles.append("admin") }
            }
            adminID = existing.id
        } else {
            let admin = UserAccount(
                email: email, name: "Administrator", passwordHash: try await hasher.hash(password), roles: ["admin"])
            try await store.insertUser(admin)
            adminID = admin.id
        }
        try await store.upsertMembership(Membership(userID: adminID, organizationID: BuiltIn.organizationID, role: .owner))
        logger.info("administrator account ready", metadata: ["email": .string(email)])
    }

    // MARK: Password sign-in

    public func register(email: String, password: String, name: String?, clientAddress: String?) async throws
        -> IssuedTokens
    {
        guard settings.mode == .full else { throw AuthError.unavailable("Sign-up is not available in AUTH_MODE=\(settings.mode.rawValue)") }
        guard settings.signupEnabled else { throw AuthError.forbidden("Sign-up is disabled on this server") }
        try await admit(address: clientAddress)
        let email = try Self.normalizedEmail(email)
        guard PasswordRules.isAcceptable(password) else {
            throw AuthError.invalid(code: "invalid_password", message: "Password must be \(PasswordRules.lengthText)")
        }
        let displayName = try Self.displayName(name, email: email)
        let user = UserAccount(email: email, name: displayName, passwordHash: try await hasher.hash(password))
        do {
            try await createAccount(for: user)
        } catch StoreError.conflict {
            throw AuthError.emailTaken
        }
        logger.info("account registered", metadata: ["user_id": .string(user.id)])
        return try await issue(for: user)
    }

    public func login(email: String, password: String, clientAddress: String?) async throws -> IssuedTokens {
        guard settings.mode != .none else { throw AuthError.unavailable("Login is not needed in AUTH_MODE=none") }
        let email = email.trimmingCharacters(in: .whitespaces).lowercased()
        try await admit(address: clientAddress)
        if let wait = await limiter.admit("login:\(email)", limit: settings.rateLimits.attemptsPerAccount) {
            throw AuthError.rateLimited(retryAfterSeconds: Self.wholeSeconds(wait))
        }
        guard password.utf8.count <= 1024, email.utf8.count <= 320 else { throw AuthError.invalidLogin }
        let user = try await store.user(email: email)
        let matches = try await hasher.verify(password, against: user?.passwordHash ?? decoyHash)
        guard let user, user.passwordHash != nil, matches else {
            logger.info("login failed")
            throw AuthError.invalidLogin
        }
        return try await issue(for: user)
    }

    /// Exchanges a refresh token for new tokens; the presented one stops working.
    public func refresh(_ refreshToken: String) async throws -> IssuedTokens {
        guard refreshToken.utf8.count <= 256,
            let record = try await store.takeRefreshToken(hash: SecretTokens.sha256Hex(refreshToken)),
            let user = try await store.user(id: record.userID)
        else { throw AuthError.invalidCredential }
        return try await issue(for: user)
    }

    /// Revokes the refresh token, if any. Access tokens expire on their own (`expires_in`).
    public func logout(refreshToken: String?) async throws {
        guard let refreshToken, refreshToken.utf8.count <= 256 else { return }
        _ = try await store.takeRefreshToken(hash: SecretTokens.sha256Hex(refreshToken))
    }

    func issue(for user: UserAccount) async throws -> IssuedTokens {
        let refresh = SecretTokens.randomHex(bytes: 32)
        let now = Date()
        try await store.insertRefreshToken(
            RefreshTokenRecord(
                tokenHash: SecretTokens.sha256Hex(refresh), userID: user.id,
                expiresAt: now.addingTimeInterval(settings.refreshTokenLifetime.inSeconds), createdAt: now))
        return IssuedTokens(
            accessToken: try await tokens.issue(userID: user.id, now: now),
            expiresIn: Int(settings.accessTokenLifetime.inSeconds), refreshToken: refresh,
            refreshExpiresIn: Int(settings.refreshTokenLifetime.inSeconds), user: user)
    }

    /// Creates the user with an organization of their own, owned by them, with its built-ins.
    func createAccount(for user: UserAccount) async throws {
        let organization = Organization(name: "\(user.name)'s organization")
        try await store.createAccount(user, organization: organization, role: .owner)
        try await provisionOrganization(organization.id)
    }

    func admit(address: String?) async throws {
        guard let address else { return }
        if let wait = await limiter.admit("address:\(address)", limit: settings.rateLimits.attemptsPerAddress) {
            throw AuthError.rateLimited(retryAfterSeconds: Self.wholeSeconds(wait))
        }
    }

    func admitKeyCreation(userID: String) async throws {
        if let wait = await limiter.admit("keys:\(userID)", limit: settings.rateLimits.keyCreationsPerAccount) {
            throw AuthError.rateLimited(retryAfterSeconds: Self.wholeSeconds(wait))
        }
    }

    static func wholeSeconds(_ duration: Duration) -> Int { max(1, Int(duration.inSeconds.rounded(.up))) }

    static func normalizedEmail(_ email: String) throws -> String {
        let email = email.trimmingCharacters(in: .whitespaces).lowercased()
        let parts = email.split(separator: "@", omittingEmptySubsequences: false)
        guard email.utf8.count <= 320, parts.count == 2, !parts[0].isEmpty, parts[1].contains("."),
            !email.unicodeScalars.contains(where: { $0.properties.isWhitespace || $0.value < 0x20 })
        else { throw AuthError.invalid(code: "invalid_email", message: "email must be an email address") }
        return email
    }

    static func displayName(_ name: String?, email: String) throws -> String {
        let name = (name ?? "").trimmingCharacters(in: .whitespacesAndNewlines)
        guard name.utf8.count <= 200 else {
            throw AuthError.invalid(code: "invalid_request", message: "name must be at most 200 bytes")
        }
        return name.isEmpty ? String(email.prefix { $0 != "@" }) : name
    }
}
