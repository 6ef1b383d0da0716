import Foundation
import HTTPTypes
import KeelCore
import Testing

/// The OAuth authorization-code flow with PKCE and `state`, end to end against a fake GitHub on
/// loopback (issue 10).
@Suite("OAuth sign-in")
struct OAuthFlowTests {
    static func environment(_ idp: String, _ extra: [String: String] = [:]) -> [String: String] {
        AuthTest.environment([
            "AUTH_GITHUB_CLIENT_ID": FakeIdentityProvider.clientID, "AUTH_GITHUB_CLIENT_SECRET": FakeIdentityProvider.clientSecret,
            "AUTH_GITHUB_AUTHORIZE_URL": "\(idp)/login/oauth/authorize", "AUTH_GITHUB_TOKEN_URL": "\(idp)/login/oauth/access_token",
            "AUTH_GITHUB_USERINFO_URL": "\(idp)/user", "AUTH_GITHUB_EMAILS_URL": "\(idp)/user/emails",
            "AUTH_PUBLIC_URL": "https://keel.example.com",
        ]).merging(extra) { $1 }
    }

    /// Starts the flow and returns the authorize URL and the flow cookie (`name=value`).
    static func start(_ server: TestServer, prefix: String = "", redirect: String = "/after") async throws -> (url: String, cookie: String) {
        let reply = try await server.request(.get, "\(prefix)/v1/auth/oauth/github?redirect=\(redirect)")
        #expect(reply.status == 302, "\(reply.text)")
        let location = try #require(reply.headers[.location])
        let setCookie = try #require(reply.cookie("keel_oauth_flow"))
        #expect(setCookie.contains("HttpOnly") && setCookie.contains("Path=\(prefix)/v1/auth/callback;"))
        return (location, String(setCookie.prefix { $0 != ";" }))
    }

    @Test("GitHub sign-in: redirect with PKCE and state, code exchange, a new account, cookies, and the return path")
    func signIn() async throws {
        let idp = FakeIdentityProvider(profile: .init(id: 4242, login: "octo", email: "octo@example.com", verified: true))
        try await idp.run { idpURL in
            try await TestServer.run(environment: Self.environment(idpURL)) { server in
                #expect(try await server.request(.get, "/v1/auth/config").json["oauth_providers"] == ["github"])
                let (url, cookie) = try await Self.start(server)
                #expect(url.hasPrefix("\(idpURL)/login/oauth/authorize?"))
                let grant = try idp.approve(authorizeURL: url)
                #expect(grant.redirectURI == "https://keel.example.com/v1/auth/callback/github")

                let callback = try await server.request(
                    .get, "/v1/auth/callback/github?code=\(grant.code)&state=\(grant.state)", headers: [.cookie: cookie])
                #expect(callback.status == 302, "\(callback.text) \(idp.refusals)")
                #expect(callback.headers[.location] == "/after")
                #expect(callback.cookie("keel_oauth_flow")?.contains("Max-Age=0") == true, "the flow cookie is spent")
                let access = try #require(callback.cookie("access_token"))
                let token = String(access.dropFirst("access_token=".count).prefix { $0 != ";" })
                let me = try await server.request(.get, "/v1/auth/me", headers: [.cookie: "access_token=\(token)"])
                #expect(me.json["email"] == "octo@example.com", "the verified primary email")
                #expect(me.json["name"] == "octo")
                #expect(me.json["avatar_url"] == "https://avatars.example/4242")
                #expect(me.json["organizations"]?.arrayValue?.count == 1, "a new account gets its organization")

                // The same GitHub identity signs in to the same account.
                let again = try await Self.start(server)
                let second = try idp.approve(authorizeURL: again.url)
                let reply = try await server.request(
                    .get, "/v1/auth/callback/github?code=\(second.code)&state=\(second.state)", headers: [.cookie: again.cookie])
                #expect(reply.status == 302)
                let secondToken = String(
                    try #require(reply.cookie("access_token")).dropFirst("access_token=".count).prefix { $0 != ";" })
                let sameUser = try await server.request(.get, "/v1/auth/me", headers: AuthTest.bearer(secondToken))
                #expect(sameUser.json["id"] == me.json["id"])
                #expect(idp.refusals.isEmpty, "\(idp.refusals)")
            }
        }
    }

    @Test("a wrong or missing state, a missing flow cookie, a replayed code and an open redirect are refused")
    func refusals() async throws {
        let idp = FakeIdentityProvider(profile: .init(id: 7, login: "mallory", email: "m@example.com", verified: true))
        try await idp.run { idpURL in
            try await TestServer.run(environment: Self.environment(idpURL)) { server in
                let (url, cookie) = try await Self.start(server)
                let grant = try idp.approve(authorizeURL: url)
                let wrongState = try await server.request(
                    .get, "/v1/auth/callback/github?code=\(grant.code)&state=forged", headers: [.cookie: cookie])
                #expect(wrongState.status == 401)
                #expect(wrongState.cookie("access_token") == nil)
                let noCookie = try await server.request(.get, "/v1/auth/callback/github?code=\(grant.code)&state=\(grant.state)")
                #expect(noCookie.status == 401, "a callback the browser did not start is refused (login CSRF)")
                let ok = try await server.request(
                    .get, "/v1/auth/callback/github?code=\(grant.code)&state=\(grant.state)", headers: [.cookie: cookie])
                #expect(ok.status == 302)
                let replay = try await server.request(
                    .get, "/v1/auth/callback/github?code=\(grant.code)&state=\(grant.state)", headers: [.cookie: cookie])
                #expect(replay.status == 502, "the provider refuses a used code: \(replay.text)")
                #expect(idp.refusals == ["code"])

                let evil = try await Self.start(server, redirect: "https://evil.example/phish")
                let evilGrant = try idp.approve(authorizeURL: evil.url)
                let landed = try await server.request(
                    .get, "/v1/auth/callback/github?code=\(evilGrant.code)&state=\(evilGrant.state)", headers: [.cookie: evil.cookie])
                #expect(landed.headers[.location] == "/", "only paths on this server")

                #expect(try await server.request(.get, "/v1/auth/oauth/gitlab").status == 404)
            }
        }
    }

    @Test("an unverified email does not create or take over an account")
    func unverifiedEmail() async throws {
        let idp = FakeIdentityProvider(profile: .init(id: 9, login: "squatter", email: "victim@example.com", verified: false))
        try await idp.run { idpURL in
            try await TestServer.run(environment: Self.environment(idpURL)) { server in
                let victim = try await server.register("victim@example.com")
                let (url, cookie) = try await Self.start(server)
                let grant = try idp.approve(authorizeURL: url)
                let reply = try await server.request(
                    .get, "/v1/auth/callback/github?code=\(grant.code)&state=\(grant.state)", headers: [.cookie: cookie])
                #expect(reply.status == 403, "\(reply.text)")
                #expect(reply.cookie("access_token") == nil)
                let me = try await server.request(.get, "/v1/auth/me", headers: victim.headers)
                #expect(me.json["id"]?.stringValue == victim.userID)
            }
        }
    }

    @Test("under API_PREFIX the callback URL includes the prefix and the callback route serves there")
    func apiPrefix() async throws {
        let idp = FakeIdentityProvider(profile: .init(id: 11, login: "pre", email: "pre@example.com", verified: true))
        try await idp.run { idpURL in
            try await TestServer.run(environment: Self.environment(idpURL, ["API_PREFIX": "/api"])) { server in
                let (url, cookie) = try await Self.start(server, prefix: "/api")
                let grant = try idp.approve(authorizeURL: url)
                #expect(grant.redirectURI == "https://keel.example.com/api/v1/auth/callback/github")
                let reply = try await server.request(
                    .get, "/api/v1/auth/callback/github?code=\(grant.code)&state=\(grant.state)", headers: [.cookie: cookie])
                #expect(reply.status == 302, "\(reply.text)")
                #expect(reply.cookie("refresh_token")?.contains("Path=/api/v1/auth;") == true)
            }
        }
    }
}
