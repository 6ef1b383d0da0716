import Foundation
import Hummingbird
import KeelAuth
import KeelCore

/// `/v1/auth/*`: configuration, sign-up, login, refresh, logout, OAuth redirect and callback (no
/// credential needed), and `me` and API keys (authenticated).
struct AuthController: Sendable {
    let auth: AuthService
    let oauthClient: OAuthClient
    let apiPrefix: String

    private var refreshCookiePath: String { apiPrefix + "/v1/auth" }
    private var callbackCookiePath: String { apiPrefix + "/v1/auth/callback" }

    func addPublicRoutes(to group: RouterGroup<KeelRequestContext>) {
        group.get("config") { _, _ in
            let mode = auth.settings.mode
            return try JSONResponse.make(
                AuthConfigBody(
                    mode: mode.rawValue, passwordAuthEnabled: mode != .none, oauthProviders: auth.oauthProviderNames,
                    signupEnabled: mode == .full && auth.settings.signupEnabled))
        }
        group.post("register") { request, context in
            let input = try await RequestDecoding.decodeBody(RegisterInput.self, from: request)
            let tokens = try await auth.register(
                email: input.email, password: input.password, name: input.name, clientAddress: context.clientAddress)
            return try signedIn(tokens, request: request, status: .created)
        }
        group.post("login") { request, context in
            let input = try await RequestDecoding.decodeBody(LoginInput.self, from: request)
            let tokens = try await auth.login(
                email: input.email, password: input.password, clientAddress: context.clientAddress)
            return try signedIn(tokens, request: request)
        }
        group.post("refresh") { request, _ in
            guard let token = try await refreshToken(in: request) else {
                throw AuthError.unauthenticated("refresh_token is required (in the body or its cookie)")
            }
            return try signedIn(try await auth.refresh(token), request: request)
        }
        group.post("logout") { request, _ in
            try await auth.logout(refreshToken: try await refreshToken(in: request))
            var response = JSONResponse.noContent()
            let secure = AuthCookies.isSecure(request)
            response.headers[values: .setCookie] = [
                AuthCookies.header(AuthCookies.accessToken, "", path: "/", maxAge: 0, secure: secure),
                AuthCookies.header(AuthCookies.refreshToken, "", path: refreshCookiePath, maxAge: 0, secure: secure),
            ]
            return response
        }
        group.get("oauth/{provider}") { request, context in
            let provider = try context.parameters.require("provider")
            let start = try await auth.startOAuth(
                provider: provider, apiPrefix: apiPrefix, returnTo: request.uri.queryParameters["redirect"].map(String.init))
            var response = Response(status: .found, headers: [.location: start.authorizeURL])
            response.headers[values: .setCookie] = [
                AuthCookies.header(
                    AuthCookies.oauthFlow, start.flowCookie, path: callbackCookiePath, maxAge: start.cookieLifetime,
                    secure: AuthCookies.isSecure(request))
            ]
            return response
        }
        group.get("callback/{provider}") { request, context in
            let provider = try context.parameters.require("provider")
            let query = request.uri.queryParameters
            let (tokens, returnTo) = try await auth.finishOAuth(
                provider: provider, code: query["code"].map(String.init), state: query["state"].map(String.init),
                flowCookie: AuthCookies.value(of: AuthCookies.oauthFlow, in: request), apiPrefix: apiPrefix,
                client: oauthClient)
            var response = Response(status: .found, headers: [.location: returnTo])
            response.headers[values: .setCookie] =
                sessionCookies(tokens, request: request) + [
                    AuthCookies.header(
                        AuthCookies.oauthFlow, "", path: callbackCookiePath, maxAge: 0, secure: AuthCookies.isSecure(request))
                ]
            return response
        }
    }

    func addAuthenticatedRoutes(to group: RouterGroup<KeelRequestContext>) {
        group.get("me") { _, context in
            let principal = try RequestScope.principal(context)
            let (user, memberships) = try await auth.me(principal)
            let organizations = try await auth.organizations(for: principal)
            return try JSONResponse.make(
                MeBody(
                    id: user.id, email: user.email, name: user.name, roles: user.roles, avatarURL: user.avatarURL,
                    organizationID: principal.organizationID, organizationRole: principal.role.rawValue,
                    organizations: memberships.compactMap { membership in
                        organizations.first { $0.0.id == membership.organizationID }.map {
                            MembershipBody(organizationID: $0.0.id, name: $0.0.name, role: membership.role.rawValue)
                        }
                    }))
        }
        group.get("api-keys") { _, context in
            let keys = try await auth.apiKeys(for: try RequestScope.principal(context))
            return try JSONResponse.make(ListBody(data: keys.map { APIKeyBody($0) }))
        }
        group.post("api-keys") { request, context in
            let principal = try RequestScope.principal(context)
            let input = try await RequestDecoding.decodeBody(APIKeyInput.self, from: request)
            let (record, key) = try await auth.createAPIKey(
                for: principal, name: input.name, scopes: input.scopes, expiresInDays: input.expiresInDays,
                clientAddress: context.clientAddress)
            return try JSONResponse.make(APIKeyBody(record, key: key), status: .created)
        }
        group.delete("api-keys/{key_id}") { _, context in
            let id = try RequestDecoding.requireID(context, "key_id", prefix: .apikey)
            try await auth.deleteAPIKey(id: id, for: try RequestScope.principal(context))
            return JSONResponse.noContent()
        }
    }

    /// The refresh token from the JSON body or, when the body is empty or has none, the cookie.
    private func refreshToken(in request: Request) async throws -> String? {
        if let input = try await RequestDecoding.decodeOptionalBody(RefreshInput.self, from: request),
            let token = input.refreshToken
        {
            return token
        }
        return AuthCookies.value(of: AuthCookies.refreshToken, in: request)
    }

    private func signedIn(_ tokens: IssuedTokens, request: Request, status: HTTPResponse.Status = .ok) throws
        -> Response
    {
        var response = try JSONResponse.make(
            TokenBody(accessToken: tokens.accessToken, expiresIn: tokens.expiresIn, refreshToken: tokens.refreshToken),
            status: status)
        response.headers[values: .setCookie] = sessionCookies(tokens, request: request)
        response.headers[.cacheControl] = "no-store"
        return response
    }

    private func sessionCookies(_ tokens: IssuedTokens, request: Request) -> [String] {
        let secure = AuthCookies.isSecure(request)
        return [
            AuthCookies.header(
                AuthCookies.accessToken, tokens.accessToken, path: "/", maxAge: tokens.expiresIn, secure: secure),
            AuthCookies.header(
                AuthCookies.refreshToken, tokens.refreshToken, path: refreshCookiePath, maxAge: tokens.refreshExpiresIn,
                secure: secure),
        ]
    }
}
