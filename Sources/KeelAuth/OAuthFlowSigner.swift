import Foundation
import JWTKit

/// The state of an OAuth sign-in between the redirect and the callback, kept in a signed,
/// short-lived, HTTP-only cookie rather than in memory, so the callback may land on any instance
/// and after a restart. It holds the `state` the callback must echo, the PKCE verifier and where to
/// send the browser afterwards.
struct OAuthFlowSigner: Sendable {
    struct Flow: JWTPayload, Equatable {
        var provider: String
        var state: String
        var verifier: String
        var returnTo: String
        var exp: ExpirationClaim
        var typ: String

        func verify(using algorithm: some JWTAlgorithm) throws {
            try exp.verifyNotExpired()
            guard typ == "oauth_flow" else {
                throw JWTError.claimVerificationFailure(failedClaim: nil, reason: "typ")
            }
        }
    }

    static let lifetime: TimeInterval = 600
    private let keys: JWTKeyCollection

    init(secret: String) async {
        let keys = JWTKeyCollection()
        // Its own key derivation label, so a flow cookie can never verify as an access token.
        await keys.add(hmac: HMACKey(from: "oauth-flow:" + secret), digestAlgorithm: .sha256)
        self.keys = keys
    }

    func seal(_ flow: Flow) async throws -> String { try await keys.sign(flow) }

    func open(_ cookie: String) async -> Flow? {
        guard cookie.utf8.count <= 4096 else { return nil }
        return try? await keys.verify(cookie, as: Flow.self)
    }
}
