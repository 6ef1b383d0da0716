import Crypto
import Foundation
import JWTKit
import KeelCore

/// Where to send the browser to start an OAuth sign-in, and the cookie that carries the flow.
public struct OAuthStart: Sendable {
    public var authorizeURL: String
    public var flowCookie: String
    public var cookieLifetime: Int
}

extension AuthService {
    public var oauthProviderNames: [String] {
        settings.mode == .full ? settings.oauthProviders.map(\.name) : []
    }

    /// The callback URL registered with the identity provider.
    public func oauthCallbackURL(provider: String, apiPrefix: String) -> String {
        settings.publicURL.trimmingSuffix("/") + apiPrefix + "/v1/auth/callback/" + provider
    }

    /// Begins the authorization-code flow with PKCE (S256) and a random `state`. `returnTo` must be
    /// a path on this server; anything else becomes `/`, so the flow is no open redirect.
    public func startOAuth(provider name: String, apiPrefix: String, returnTo: String?) async throws -> OAuthStart {
        let provider = try oauthProvider(name)
        let verifier = SecretTokens.randomBase64URL(bytes: 32)
        let challenge = SecretTokens.base64URL(SHA256.hash(data: Data(verifier.utf8)))
        let state = SecretTokens.randomBase64URL(bytes: 24)
        let flow = OAuthFlowSigner.Flow(
            provider: provider.name, state: state, verifier: verifier, returnTo: Self.safeReturnPath(returnTo),
            exp: ExpirationClaim(value: Date().addingTimeInterval(OAuthFlowSigner.lifetime)), typ: "oauth_flow")
        var components = URLComponents(string: provider.authorizeURL)
        let existingItems = components?.queryItems ?? []
        components?.queryItems = existingItems + [
            URLQueryItem(name: "response_type", value: "code"),
            URLQueryItem(name: "client_id", value: provider.clientID),
            URLQueryItem(name: "redirect_uri", value: oauthCallbackURL(provider: provider.name, apiPrefix: apiPrefix)),
            URLQueryItem(name: "scope", value: provider.scopes.joined(separator: " ")),
            URLQueryItem(name: "state", value: state),
            URLQueryItem(name: "code_challenge", value: challenge),
            URLQueryItem(name: "code_challenge_method", value: "S256"),
        ]
        guard let url = components?.string else {
            throw AuthError.identityProviderFailed("The \(provider.name) authorize URL is not a valid URL")
        }
        return OAuthStart(
            authorizeURL: url, flowCookie: try await oauthFlows.seal(flow), cookieLifetime: Int(OAuthFlowSigner.lifetime))
    }

    /// Finishes the flow: checks `state` against the flow cookie, exchanges the code (with the PKCE
    /// verifier) for the provider's token, reads the profile, finds or creates the user, and issues
    /// Keel tokens. Returns them with the path to send the browser to.
    public func finishOAuth(
        provider name: String, code: String?, state: String?, flowCookie: String?, apiPrefix: String,
        client: OAuthClient
    ) async throws -> (tokens: IssuedTokens, returnTo: String) {
        let provider = try oauthProvider(name)
        guard let flowCookie, let flow = await oauthFlows.open(flowCookie), flow.provider == provider.name else {
            throw AuthError.unauthenticated("The sign-in expired or was started elsewhere; start it again")
        }
        guard let state, Self.constantTimeEqual(state, flow.state) else {
            throw AuthError.unauthenticated("The sign-in state does not match; start it again")
        }
        guard let code, !code.isEmpty, code.utf8.count <= 2048 else {
            throw AuthError.invalid(code: "invalid_request", message: "The callback has no authorization code")
        }
        let identity = try await client.identity(
            provider: provider, code: code, verifier: flow.verifier,
            redirectURI: oauthCallbackURL(provider: provider.name, apiPrefix: apiPrefix))
        let user = try await user(for: identity, provider: provider.name)
        return (try await issue(for: user), flow.returnTo)
    }

    private func user(for identity: OAuthIdentity, provider: String) async throws -> UserAccount {
        if let linked = try await store.user(authProvider: provider, authProviderID: identity.subject) {
            return linked
        }
        if let email = identity.email, let existing = try await store.user(email: email) {
            // Linking by email only when the provider vouches for it; otherwise anyone could claim
            // an account by registering its address with an identity provider.
            guard identity.emailVerified, existing.authProviderID == nil || existing.authProvider == provider else {
                throw AuthError.forbidden("An account with this email exists; sign in with its password")
            }
            return try await store.updateUser(id: existing.id) { user in
                if user.authProviderID == nil {
                    user.authProviderID = identity.subject
                    user.authProvider = provider
                }
                if user.avatarURL == nil { user.avatarURL = identity.avatarURL }
            }
        }
        guard settings.signupEnabled else { throw AuthError.forbidden("Sign-up is disabled on this server") }
        guard let email = identity.email, identity.emailVerified else {
            throw AuthError.identityProviderFailed("The identity provider did not give a verified email address")
        }
        let user = UserAccount(
            email: email, name: try Self.displayName(identity.name, email: email), authProvider: provider,
            authProviderID: identity.subject, avatarURL: identity.avatarURL)
        try await createAccount(for: user)
        return user
    }

    private func oauthProvider(_ name: String) throws -> OAuthProviderSettings {
        guard settings.mode == .full, let provider = settings.oauthProviders.first(where: { $0.name == name }) else {
            throw AuthError.unavailable("OAuth provider '\(name.prefix(40))' is not configured")
        }
        return provider
    }

    static func safeReturnPath(_ path: String?) -> String {
        guard let path, path.hasPrefix("/"), !path.hasPrefix("//"), !path.contains("\\"), path.utf8.count <= 512,
            !path.unicodeScalars.contains(where: { $0.value < 0x20 })
        else { return "/" }
        return path
    }

    static func constantTimeEqual(_ lhs: String, _ rhs: String) -> Bool {
        let left = Array(lhs.utf8)
        let right = Array(rhs.utf8)
        guard left.count == right.count else { return false }
        return zip(left, right).reduce(UInt8(0)) { $0 | ($1.0 ^ $1.1) } == 0
    }
}

extension String {
    fileprivate func trimmingSuffix(_ suffix: String) -> String {
        hasSuffix(suffix) ? String(dropLast(suffix.count)) : self
    }
}
