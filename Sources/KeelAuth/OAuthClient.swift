import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1

/// A user as an identity provider describes them.
public struct OAuthIdentity: Sendable, Hashable {
    public var subject: String
    public var email: String?
    public var emailVerified: Bool
    public var name: String?
    public var avatarURL: String?
}

/// Talks to identity providers: the code-for-token exchange and the profile reads. Every call has
/// a deadline and a response cap, because the provider's answers are read by the server.
public struct OAuthClient: Sendable {
    let http: HTTPClient
    let timeout: TimeAmount
    static let maximumResponseBytes = 1 << 20

    public init(http: HTTPClient, timeout: TimeAmount = .seconds(10)) {
        self.http = http
        self.timeout = timeout
    }

    func identity(provider: OAuthProviderSettings, code: String, verifier: String, redirectURI: String) async throws
        -> OAuthIdentity
    {
        let accessToken = try await exchange(provider: provider, code: code, verifier: verifier, redirectURI: redirectURI)
        let profile = try await getJSON(provider.userInfoURL, token: accessToken, provider: provider.name)
        switch provider.kind {
        case .google:
            guard let subject = profile["sub"] as? String else { throw invalid(provider.name, "no sub in the profile") }
            return OAuthIdentity(
                subject: subject, email: (profile["email"] as? String)?.lowercased(),
                emailVerified: profile["email_verified"] as? Bool ?? false, name: profile["name"] as? String,
                avatarURL: profile["picture"] as? String)
        case .github:
            guard let id = profile["id"] as? Int else { throw invalid(provider.name, "no id in the profile") }
            var email: String?
            var verified = false
            if let emailsURL = provider.emailsURL,
                let emails = try await getJSONArray(emailsURL, token: accessToken, provider: provider.name)
                    .first(where: { $0["primary"] as? Bool == true })
            {
                email = (emails["email"] as? String)?.lowercased()
                verified = emails["verified"] as? Bool ?? false
            }
            return OAuthIdentity(
                subject: String(id), email: email, emailVerified: verified,
                name: (profile["name"] as? String) ?? (profile["login"] as? String),
                avatarURL: profile["avatar_url"] as? String)
        }
    }

    private func exchange(provider: OAuthProviderSettings, code: String, verifier: String, redirectURI: String)
        async throws -> String
    {
        var form = URLComponents()
        form.queryItems = [
            URLQueryItem(name: "grant_type", value: "authorization_code"),
            URLQueryItem(name: "code", value: code),
            URLQueryItem(name: "redirect_uri", value: redirectURI),
            URLQueryItem(name: "client_id", value: provider.clientID),
            URLQueryItem(name: "client_secret", value: provider.clientSecret),
            URLQueryItem(name: "code_verifier", value: verifier),
        ]
        // URLComponents leaves '+' alone, which a form decoder reads as a space.
        let body = (form.percentEncodedQuery ?? "").replacingOccurrences(of: "+", with: "%2B")
        var request = HTTPClientRequest(url: provider.tokenURL)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/x-www-form-urlencoded")
        request.headers.add(name: "Accept", value: "application/json")
        request.body = .bytes(ByteBuffer(string: body))
        let json = try await send(request, provider: provider.name)
        guard let object = json as? [String: Any], let token = object["access_token"] as? String, !token.isEmpty else {
            throw invalid(provider.name, "the token endpoint gave no access_token")
        }
        return token
    }

    private func getJSON(_ url: String, token: String, provider: String) async throws -> [String: Any] {
        guard let object = try await send(authorizedGET(url, token: token), provider: provider) as? [String: Any] else {
            throw invalid(provider, "the profile is not a JSON object")
        }
        return object
    }

    private func getJSONArray(_ url: String, token: String, provider: String) async throws -> [[String: Any]] {
        try await send(authorizedGET(url, token: token), provider: provider) as? [[String: Any]] ?? []
    }

    private func authorizedGET(_ url: String, token: String) -> HTTPClientRequest {
        var request = HTTPClientRequest(url: url)
        request.headers.add(name: "Authorization", value: "Bearer \(token)")
        request.headers.add(name: "Accept", value: "application/json")
        request.headers.add(name: "User-Agent", value: "keel")
        return request
    }

    private func send(_ request: HTTPClientRequest, provider: String) async throws -> Any {
        let response: HTTPClientResponse
        let body: ByteBuffer
        do {
            response = try await http.execute(request, timeout: timeout)
            body = try await response.body.collect(upTo: Self.maximumResponseBytes)
        } catch {
            throw AuthError.identityProviderFailed("\(provider) could not be reached")
        }
        guard (200..<300).contains(response.status.code) else {
            throw AuthError.identityProviderFailed("\(provider) answered HTTP \(response.status.code)")
        }
        guard let json = try? JSONSerialization.jsonObject(with: Data(body.readableBytesView)) else {
            throw invalid(provider, "the answer is not JSON")
        }
        return json
    }

    private func invalid(_ provider: String, _ detail: String) -> AuthError {
        .identityProviderFailed("\(provider): \(detail)")
    }
}
