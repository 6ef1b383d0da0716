import Foundation
import HTTPTypes
import KeelCore
import Testing

/// Accounts and credentials for the authentication tests: a DEV_MODE server in AUTH_MODE=full with
/// a cheap bcrypt cost, and helpers that sign up, log in and build credential headers.
enum AuthTest {
    static let password = "correct horse battery"

    static func environment(_ extra: [String: String] = [:]) -> [String: String] {
        ["AUTH_MODE": "full", "AUTH_BCRYPT_COST": "4"].merging(extra) { $1 }
    }

    static func bearer(_ token: String) -> HTTPFields { [.authorization: "Bearer \(token)"] }
    static func key(_ key: String) -> HTTPFields { [.authorization: key] }
}

/// A signed-up user as a test sees them.
struct TestAccount: Sendable {
    var email: String
    var accessToken: String
    var refreshToken: String
    var userID: String
    var organizationID: String
    var headers: HTTPFields { AuthTest.bearer(accessToken) }
}

extension TestServer {
    func register(_ email: String, prefix: String = "", password: String = AuthTest.password) async throws -> TestAccount {
        let reply = try await request(
            .post, "\(prefix)/v1/auth/register", json: ["email": .string(email), "password": .string(password), "name": "Tester"])
        #expect(reply.status == 201, "\(reply.text)")
        let token = try #require(reply.json["access_token"]?.stringValue)
        let me = try await request(.get, "\(prefix)/v1/auth/me", headers: AuthTest.bearer(token))
        return TestAccount(
            email: email, accessToken: token, refreshToken: reply.json["refresh_token"]?.stringValue ?? "",
            userID: me.json["id"]?.stringValue ?? "", organizationID: me.json["organization_id"]?.stringValue ?? "")
    }

    func login(_ email: String, password: String = AuthTest.password, prefix: String = "") async throws -> Reply {
        try await request(.post, "\(prefix)/v1/auth/login", json: ["email": .string(email), "password": .string(password)])
    }

    /// Creates an API key for the account and returns the full key (shown once).
    func createKey(_ account: TestAccount, name: String = "test") async throws -> (id: String, key: String) {
        let reply = try await request(.post, "/v1/auth/api-keys", json: ["name": .string(name)], headers: account.headers)
        #expect(reply.status == 201, "\(reply.text)")
        return (reply.json["id"]?.stringValue ?? "", reply.json["key"]?.stringValue ?? "")
    }
}

extension TestServer.Reply {
    /// The `Set-Cookie` header values.
    var cookies: [String] { headers[values: .setCookie] }

    func cookie(_ name: String) -> String? {
        cookies.first { $0.hasPrefix("\(name)=") }
    }
}
