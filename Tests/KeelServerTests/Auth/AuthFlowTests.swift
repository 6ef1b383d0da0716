import Foundation
import HTTPTypes
import KeelCore
import Testing

/// Sign-up, login, refresh, logout, API keys and the credential forms, over HTTP against a real
/// server in AUTH_MODE=full (issue 10).
@Suite("Authentication flows")
struct AuthFlowTests {
    @Test("without a credential every /v1 route but the sign-in ones is 401 in the error envelope; /health stays open")
    func closedByDefault() async throws {
        try await TestServer.run(environment: AuthTest.environment()) { server in
            for path in ["/v1/agents", "/v1/sessions", "/v1/providers", "/v1/models", "/v1/auth/me", "/v1/auth/api-keys"] {
                let reply = try await server.request(.get, path)
                #expect(reply.status == 401, "\(path)")
                #expect(reply.json["error"]?["code"] == "unauthorized", "\(path): \(reply.text)")
                #expect(reply.headers[.wwwAuthenticate] == "Bearer")
            }
            let health = try await server.request(.get, "/health")
            #expect(health.status == 200)
            #expect(health.json["auth_mode"] == "full")
            let config = try await server.request(.get, "/v1/auth/config")
            #expect(config.json["mode"] == "full")
            #expect(config.json["signup_enabled"] == true)
            #expect(config.json["password_auth_enabled"] == true)
            #expect(try await server.request(.get, "/api-doc/openapi.json").status == 200)
        }
    }

    @Test("register gives tokens and HTTP-only SameSite=Lax cookies; the token, the cookie and me agree")
    func registerAndMe() async throws {
        try await TestServer.run(environment: AuthTest.environment()) { server in
            let reply = try await server.request(
                .post, "/v1/auth/register", json: ["email": "Ada@Example.com", "password": .string(AuthTest.password), "name": "Ada"])
            #expect(reply.status == 201)
            #expect(reply.json["token_type"] == "Bearer")
            #expect(reply.json["expires_in"] == 900)
            #expect(reply.json["password"] == nil)
            #expect(!reply.text.contains(AuthTest.password))
            let access = try #require(reply.cookie("access_token"))
            #expect(access.contains("HttpOnly") && access.contains("SameSite=Lax") && access.contains("Path=/;"))
            #expect(!access.contains("Secure"), "plain HTTP")
            #expect(try #require(reply.cookie("refresh_token")).contains("Path=/v1/auth;"))
            let token = try #require(reply.json["access_token"]?.stringValue)

            let me = try await server.request(.get, "/v1/auth/me", headers: AuthTest.bearer(token))
            #expect(me.json["email"] == "ada@example.com")
            #expect(me.json["name"] == "Ada")
            #expect(me.json["organization_role"] == "owner")
            #expect(me.json["organizations"]?.arrayValue?.count == 1)
            #expect(me.json["password_hash"] == nil && !me.text.contains("$2"))

            let viaCookie = try await server.request(.get, "/v1/auth/me", headers: [.cookie: "access_token=\(token)"])
            #expect(viaCookie.json["id"] == me.json["id"])

            let secure = try await server.request(
                .post, "/v1/auth/login", json: ["email": "ada@example.com", "password": .string(AuthTest.password)],
                headers: [HTTPField.Name("X-Forwarded-Proto")!: "https"])
            #expect(secure.cookie("access_token")?.contains("; Secure") == true)

            let again = try await server.request(
                .post, "/v1/auth/register", json: ["email": "ADA@example.com", "password": .string(AuthTest.password)])
            #expect(again.status == 409)
            #expect(again.json["error"]?["code"] == "email_taken")
        }
    }

    @Test("bad sign-up input is a 400 naming the problem")
    func badRegistration() async throws {
        try await TestServer.run(environment: AuthTest.environment()) { server in
            let short = try await server.request(.post, "/v1/auth/register", json: ["email": "a@b.io", "password": "short"])
            #expect(short.status == 400)
            #expect(short.json["error"]?["code"] == "invalid_password")
            let long = try await server.request(
                .post, "/v1/auth/register", json: ["email": "a@b.io", "password": .string(String(repeating: "p", count: 73))])
            #expect(long.json["error"]?["code"] == "invalid_password", "bcrypt would cut it at 72 bytes")
            let email = try await server.request(.post, "/v1/auth/register", json: ["email": "not-an-email", "password": "long enough"])
            #expect(email.json["error"]?["code"] == "invalid_email")
            let missing = try await server.request(.post, "/v1/auth/register", json: ["email": "a@b.io"])
            #expect(missing.status == 400)
        }
    }

    @Test("a wrong password and an unknown email get the same 401, and login works with the right one")
    func login() async throws {
        try await TestServer.run(environment: AuthTest.environment()) { server in
            _ = try await server.register("bob@example.com")
            let wrong = try await server.login("bob@example.com", password: "wrong password")
            let unknown = try await server.login("nobody@example.com", password: "wrong password")
            #expect(wrong.status == 401 && unknown.status == 401)
            #expect(wrong.json == unknown.json, "the body does not say whether the email exists")
            let right = try await server.login("BOB@example.com")
            #expect(right.status == 200)
            #expect(right.headers[.cacheControl] == "no-store")
            let token = try #require(right.json["access_token"]?.stringValue)
            #expect(try await server.request(.get, "/v1/agents", headers: AuthTest.bearer(token)).status == 200)
        }
    }

    @Test("a refresh token works once and rotates; logout revokes it and clears the cookies")
    func refreshAndLogout() async throws {
        try await TestServer.run(environment: AuthTest.environment()) { server in
            let account = try await server.register("carol@example.com")
            let first = try await server.request(.post, "/v1/auth/refresh", json: ["refresh_token": .string(account.refreshToken)])
            #expect(first.status == 200)
            let rotated = try #require(first.json["refresh_token"]?.stringValue)
            #expect(rotated != account.refreshToken)
            let token = try #require(first.json["access_token"]?.stringValue)
            #expect(try await server.request(.get, "/v1/auth/me", headers: AuthTest.bearer(token)).status == 200)

            let replay = try await server.request(.post, "/v1/auth/refresh", json: ["refresh_token": .string(account.refreshToken)])
            #expect(replay.status == 401, "a used refresh token is refused")

            let viaCookie = try await server.request(.post, "/v1/auth/refresh", headers: [.cookie: "refresh_token=\(rotated)"])
            #expect(viaCookie.status == 200, "the refresh cookie works without a body")
            let latest = try #require(viaCookie.json["refresh_token"]?.stringValue)

            let logout = try await server.request(.post, "/v1/auth/logout", json: ["refresh_token": .string(latest)])
            #expect(logout.status == 204)
            #expect(logout.cookie("access_token")?.contains("Max-Age=0") == true)
            #expect(logout.cookie("refresh_token")?.contains("Max-Age=0") == true)
            let afterLogout = try await server.request(.post, "/v1/auth/refresh", json: ["refresh_token": .string(latest)])
            #expect(afterLogout.status == 401)
        }
    }

    @Test("tampered, foreign, unsigned and expired access tokens are 401")
    func badTokens() async throws {
        try await TestServer.run(environment: AuthTest.environment(["AUTH_ACCESS_TOKEN_TTL_SECS": "1"])) { server in
            let issued = ContinuousClock.now
            let account = try await server.register("dan@example.com")
            // Valid until its 1 s lifetime is over (checked only while it surely is: a loaded
            // machine may take longer than that to get here).
            let fresh = try await server.request(.get, "/v1/agents", headers: account.headers).status
            if ContinuousClock.now - issued < .milliseconds(900) { #expect(fresh == 200) }
            var parts = account.accessToken.split(separator: ".").map(String.init)
            try #require(parts.count == 3)
            // Another user's id in the payload, the original signature.
            let forgedPayload = Data(#"{"sub":"user_00000000000000000000000000000001","typ":"access","exp":4102444800,"iat":0}"#.utf8)
            let forged = [parts[0], Self.base64URL(forgedPayload), parts[2]].joined(separator: ".")
            let unsigned = [Self.base64URL(Data(#"{"alg":"none","typ":"JWT"}"#.utf8)), Self.base64URL(forgedPayload), ""]
                .joined(separator: ".")
            parts[2] = String(parts[2].reversed())
            let badSignature = parts.joined(separator: ".")
            for token in [forged, unsigned, badSignature, "garbage", String(repeating: "a", count: 10_000)] {
                let reply = try await server.request(.get, "/v1/agents", headers: AuthTest.bearer(token))
                #expect(reply.status == 401, "\(token.prefix(40))")
            }
            #expect(try await server.request(.get, "/v1/agents", headers: [.authorization: "Basic Zm9vOmJhcg=="]).status == 401)

            // Expiry: the same token stops working once its 1 s lifetime is over.
            let deadline = ContinuousClock.now + .seconds(10)
            var status = 200
            while status == 200, ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(200))
                status = try await server.request(.get, "/v1/agents", headers: account.headers).status
            }
            #expect(status == 401, "an expired token is refused")
        }
        // A token signed by another server's secret is worthless here.
        let foreign = try await TestServer.run(environment: AuthTest.environment(["AUTH_JWT_SECRET": String(repeating: "x", count: 40)])) {
            try await $0.register("eve@example.com").accessToken
        }
        try await TestServer.run(environment: AuthTest.environment(["AUTH_JWT_SECRET": String(repeating: "y", count: 40)])) { server in
            let reply = try await server.request(.get, "/v1/agents", headers: AuthTest.bearer(foreign))
            #expect(reply.status == 401)
        }
    }

    @Test("API keys: shown once, listed by prefix, accepted raw / ApiKey / Bearer, revoked at once, only by their owner")
    func apiKeys() async throws {
        try await TestServer.run(environment: AuthTest.environment()) { server in
            let owner = try await server.register("fay@example.com")
            let (id, key) = try await server.createKey(owner, name: "ci")
            #expect(key.hasPrefix("evr_") && key.count == 52)
            let list = try await server.request(.get, "/v1/auth/api-keys", headers: owner.headers)
            let listed = try #require(list.json["data"]?.arrayValue?.first)
            #expect(listed["id"]?.stringValue == id)
            #expect(listed["key"] == nil)
            #expect(listed["key_prefix"]?.stringValue == String(key.prefix(12)))
            #expect(!list.text.contains(key))

            for headers: HTTPFields in [[.authorization: key], [.authorization: "ApiKey \(key)"], [.authorization: "Bearer \(key)"]] {
                let me = try await server.request(.get, "/v1/auth/me", headers: headers)
                #expect(me.json["id"]?.stringValue == owner.userID, "\(headers)")
            }
            let used = try await server.request(.get, "/v1/auth/api-keys", headers: owner.headers)
            #expect(used.json["data"]?.arrayValue?.first?["last_used_at"] != .null)

            let other = try await server.register("gus@example.com")
            let stolen = try await server.request(.delete, "/v1/auth/api-keys/\(id)", headers: other.headers)
            #expect(stolen.status == 404)
            #expect(try await server.request(.get, "/v1/agents", headers: [.authorization: key]).status == 200)

            #expect(try await server.request(.delete, "/v1/auth/api-keys/\(id)", headers: owner.headers).status == 204)
            let revoked = try await server.request(.get, "/v1/agents", headers: [.authorization: key])
            #expect(revoked.status == 401, "a revoked key fails on the very next request")
            #expect(try await server.request(.get, "/v1/agents", headers: [.authorization: "evr_" + String(repeating: "0", count: 48)]).status == 401)
        }
    }

    @Test("login, sign-up and key creation are limited per account and per client address, with Retry-After")
    func rateLimits() async throws {
        let environment = AuthTest.environment([
            "AUTH_LOGIN_ATTEMPTS_PER_ACCOUNT": "3", "AUTH_LOGIN_ATTEMPTS_PER_ADDRESS": "9", "AUTH_API_KEY_CREATIONS_PER_ACCOUNT": "2",
        ])
        try await TestServer.run(environment: environment) { server in
            // The client address's attempts are counted in the comments: the limit is 9.
            let account = try await server.register("hal@example.com")  // 1
            _ = try await server.createKey(account)  // 2
            _ = try await server.createKey(account)  // 3
            let third = try await server.request(.post, "/v1/auth/api-keys", json: ["name": "x"], headers: account.headers)  // 4
            #expect(third.status == 429, "the account's key creations are used up")
            for _ in 0..<3 { #expect(try await server.login("hal@example.com", password: "wrong password").status == 401) }  // 5-7
            let limited = try await server.login("hal@example.com")  // 8
            #expect(limited.status == 429, "the right password too, once the account's window is full")
            #expect(limited.json["error"]?["code"] == "rate_limited")
            #expect(Int(limited.headers[.retryAfter] ?? "") ?? 0 >= 1)
            #expect(limited.json["retry_after_seconds"]?.intValue ?? 0 >= 1)
            #expect(try await server.login("other@example.com").status == 401)  // 9
            #expect(try await server.login("third@example.com").status == 429, "the address's window is full")
            let signUp = try await server.request(.post, "/v1/auth/register", json: ["email": "new@example.com", "password": "long enough"])
            #expect(signUp.status == 429)
        }
    }

    @Test("AUTH_DISABLE_SIGNUP refuses sign-up; AUTH_MODE=admin has one administrator and no sign-up")
    func modes() async throws {
        try await TestServer.run(environment: AuthTest.environment(["AUTH_DISABLE_SIGNUP": "true"])) { server in
            let reply = try await server.request(.post, "/v1/auth/register", json: ["email": "a@b.io", "password": "long enough"])
            #expect(reply.status == 403)
            #expect(try await server.request(.get, "/v1/auth/config").json["signup_enabled"] == false)
        }
        let admin = ["AUTH_MODE": "admin", "AUTH_ADMIN_EMAIL": "root@example.com", "AUTH_ADMIN_PASSWORD": "admin password", "AUTH_BCRYPT_COST": "4"]
        try await TestServer.run(environment: admin) { server in
            #expect(try await server.request(.get, "/v1/auth/config").json["mode"] == "admin")
            let register = try await server.request(.post, "/v1/auth/register", json: ["email": "a@b.io", "password": "long enough"])
            #expect(register.status == 404)
            #expect(try await server.login("root@example.com").status == 401)
            let login = try await server.login("root@example.com", password: "admin password")
            #expect(login.status == 200)
            let token = try #require(login.json["access_token"]?.stringValue)
            let me = try await server.request(.get, "/v1/auth/me", headers: AuthTest.bearer(token))
            #expect(me.json["organization_id"]?.stringValue == BuiltIn.organizationID)
            #expect(me.json["roles"]?.arrayValue?.contains("admin") == true)
            // The seeded agents of the default organization are the administrator's.
            #expect(try await server.request(.get, "/v1/providers", headers: AuthTest.bearer(token)).json["data"]?.arrayValue?.count == 4)
        }
        try await TestServer.run(environment: [:]) { server in
            let config = try await server.request(.get, "/v1/auth/config")
            #expect(config.json["mode"] == "none", "DEV_MODE's default")
            let agents = try await server.request(.get, "/v1/agents")
            #expect(agents.status == 200)
            let odd = try await server.request(.get, "/v1/agents", headers: [.authorization: "bench"])
            #expect(odd.status == 200, "AUTH_MODE=none ignores credentials, even unreadable ones")
            let me = try await server.request(.get, "/v1/auth/me")
            #expect(me.json["email"] == "anonymous@local")
            let login = try await server.login("x@y.io")
            #expect(login.status == 404)
        }
    }

    @Test("under API_PREFIX the auth routes move with the API and the refresh cookie's path follows")
    func apiPrefix() async throws {
        try await TestServer.run(environment: AuthTest.environment(["API_PREFIX": "/api"])) { server in
            #expect(try await server.request(.post, "/v1/auth/register", json: ["email": "a@b.io", "password": "long enough"]).status == 404)
            let account = try await server.register("ivy@example.com", prefix: "/api")
            let login = try await server.login("ivy@example.com", prefix: "/api")
            #expect(login.status == 200)
            #expect(login.cookie("refresh_token")?.contains("Path=/api/v1/auth;") == true)
            #expect(try await server.request(.get, "/api/v1/agents", headers: account.headers).status == 200)
            #expect(try await server.request(.get, "/api/v1/agents").status == 401)
        }
    }

    static func base64URL(_ data: Data) -> String {
        data.base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }
}
