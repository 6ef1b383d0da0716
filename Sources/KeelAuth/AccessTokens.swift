import Foundation
import JWTKit
import KeelCore

/// Short-lived access tokens: HS256 JWTs naming the user (`sub`), with `iat`, `exp` and a `typ` so
/// no other token signed with the same secret passes for one.
struct AccessTokens: Sendable {
    struct Claims: JWTPayload {
        var sub: SubjectClaim
        var iat: IssuedAtClaim
        var exp: ExpirationClaim
        var typ: String

        func verify(using algorithm: some JWTAlgorithm) throws {
            try exp.verifyNotExpired()
            guard typ == "access" else { throw JWTError.claimVerificationFailure(failedClaim: nil, reason: "typ") }
        }
    }

    private let keys: JWTKeyCollection
    let lifetime: Duration

    init(secret: String, lifetime: Duration) async {
        let keys = JWTKeyCollection()
        await keys.add(hmac: HMACKey(from: secret), digestAlgorithm: .sha256)
        self.keys = keys
        self.lifetime = lifetime
    }

    func issue(userID: String, now: Date = Date()) async throws -> String {
        let claims = Claims(
            sub: SubjectClaim(value: userID), iat: IssuedAtClaim(value: now),
            exp: ExpirationClaim(value: now.addingTimeInterval(lifetime.inSeconds)), typ: "access")
        return try await keys.sign(claims)
    }

    /// The user id of a valid, unexpired token; nil for anything else.
    func userID(of token: String) async -> String? {
        guard token.utf8.count <= 4096, let claims = try? await keys.verify(token, as: Claims.self) else {
            return nil
        }
        return claims.sub.value
    }
}
