import Crypto
import Foundation
import Hummingbird
import KeelTestSupport
import Synchronization

/// A GitHub-shaped OAuth identity provider on loopback: it issues codes for the authorization
/// requests the test approves, and its token endpoint checks what a real one checks — client
/// credentials, a code used once, the same `redirect_uri`, and the PKCE verifier against the
/// S256 challenge.
final class FakeIdentityProvider: Sendable {
    struct Grant: Sendable {
        var redirectURI: String
        var challenge: String
    }

    struct Profile: Sendable {
        var id: Int
        var login: String
        var email: String
        var verified: Bool
    }

    static let clientID = "fake-client-id"
    static let clientSecret = "fake-client-secret-value"
    private let grants = Mutex<[String: Grant]>([:])
    private let tokens = Mutex<[String: Profile]>([:])
    private let failures = Mutex<[String]>([])
    let profile: Profile

    init(profile: Profile) {
        self.profile = profile
    }

    /// Why token requests were refused, for the test's assertions.
    var refusals: [String] { failures.withLock { $0 } }

    /// Plays the user approving the request at the authorize URL: returns the code the provider
    /// would append to the redirect.
    func approve(authorizeURL: String) throws -> (code: String, state: String, redirectURI: String) {
        let items = URLComponents(string: authorizeURL)?.queryItems ?? []
        func value(_ name: String) -> String? { items.first { $0.name == name }?.value }
        guard value("client_id") == Self.clientID, value("response_type") == "code",
            value("code_challenge_method") == "S256", let challenge = value("code_challenge"),
            let redirect = value("redirect_uri"), let state = value("state")
        else { throw URLError(.badURL) }
        let code = "code-\(UInt64.random(in: 0...UInt64.max))"
        grants.withLock { $0[code] = Grant(redirectURI: redirect, challenge: challenge) }
        return (code, state, redirect)
    }

    func run<T: Sendable>(_ body: (_ baseURL: String) async throws -> T) async throws -> T {
        let router = Router()
        router.post("/login/oauth/access_token") { request, _ -> Response in
            let form = String(buffer: try await request.body.collect(upTo: 1 << 16))
            var fields: [String: String] = [:]
            for pair in form.split(separator: "&") {
                let parts = pair.split(separator: "=", maxSplits: 1).map { String($0).removingPercentEncoding ?? String($0) }
                if parts.count == 2 { fields[parts[0]] = parts[1] }
            }
            if let problem = self.problem(with: fields) {
                self.failures.withLock { $0.append(problem) }
                return Self.json(#"{"error":"bad_verification_code"}"#, status: .badRequest)
            }
            let token = "gho_\(UInt64.random(in: 0...UInt64.max))"
            self.tokens.withLock { $0[token] = self.profile }
            return Self.json(#"{"access_token":"\#(token)","token_type":"bearer","scope":"read:user,user:email"}"#)
        }
        router.get("/user") { request, _ -> Response in
            guard let profile = self.profile(for: request) else { return Self.json("{}", status: .unauthorized) }
            return Self.json(
                #"{"id":\#(profile.id),"login":"\#(profile.login)","name":null,"email":null,"avatar_url":"https://avatars.example/\#(profile.id)"}"#)
        }
        router.get("/user/emails") { request, _ -> Response in
            guard let profile = self.profile(for: request) else { return Self.json("[]", status: .unauthorized) }
            return Self.json(
                #"[{"email":"other@example.com","primary":false,"verified":true},{"email":"\#(profile.email)","primary":true,"verified":\#(profile.verified)}]"#)
        }
        return try await LoopbackServer.run(router, label: "fake-idp") { baseURL, _ in try await body(baseURL) }
    }

    private func problem(with fields: [String: String]) -> String? {
        guard fields["grant_type"] == "authorization_code" else { return "grant_type" }
        guard fields["client_id"] == Self.clientID, fields["client_secret"] == Self.clientSecret else { return "client" }
        guard let code = fields["code"], let grant = grants.withLock({ $0.removeValue(forKey: code) }) else { return "code" }
        guard fields["redirect_uri"] == grant.redirectURI else { return "redirect_uri" }
        guard let verifier = fields["code_verifier"] else { return "no verifier" }
        let digest = Data(SHA256.hash(data: Data(verifier.utf8))).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
        return digest == grant.challenge ? nil : "pkce"
    }

    private func profile(for request: Request) -> Profile? {
        guard let header = request.headers[.authorization], header.hasPrefix("Bearer ") else { return nil }
        return tokens.withLock { $0[String(header.dropFirst(7))] }
    }

    private static func json(_ text: String, status: HTTPResponse.Status = .ok) -> Response {
        Response(status: status, headers: [.contentType: "application/json"], body: ResponseBody(byteBuffer: ByteBuffer(string: text)))
    }
}
