import Foundation
import KeelCore

/// Who a request acts for: a user, the organization it acts in, and the user's role there.
public struct AuthPrincipal: Sendable, Hashable {
    public enum Credential: String, Sendable, Hashable {
        case accessToken = "access_token"
        case apiKey = "api_key"
        case anonymous
    }

    public var userID: String
    public var organizationID: String
    public var role: OrganizationRole
    public var credential: Credential

    public init(userID: String, organizationID: String, role: OrganizationRole, credential: Credential) {
        self.userID = userID
        self.organizationID = organizationID
        self.role = role
        self.credential = credential
    }

    /// Throws 403 unless the principal's role is at least `minimum`.
    public func require(_ minimum: OrganizationRole) throws(AuthError) {
        guard role >= minimum else {
            throw .forbidden("This needs the \(minimum.rawValue) role in the organization")
        }
    }
}

/// A credential as the request carried it, before it is checked.
public enum PresentedCredential: Sendable, Hashable {
    case bearer(String)
    case apiKey(String)
    case cookie(String)

    /// Reads the `Authorization` header: `Bearer <jwt>`, `ApiKey <key>`, or a raw key with no
    /// scheme (what the everruns-sdk sends). A bearer value that is an API key counts as one.
    public static func fromAuthorization(_ header: String) -> PresentedCredential? {
        let value = header.trimmingCharacters(in: .whitespaces)
        guard !value.isEmpty else { return nil }
        let parts = value.split(separator: " ", maxSplits: 1, omittingEmptySubsequences: true)
        if parts.count == 2 {
            let scheme = parts[0].lowercased()
            let token = String(parts[1]).trimmingCharacters(in: .whitespaces)
            switch scheme {
            case "bearer": return APIKeyFormat.looksLikeKey(token) ? .apiKey(token) : .bearer(token)
            case "apikey": return .apiKey(token)
            default: return nil
            }
        }
        return APIKeyFormat.looksLikeKey(value) ? .apiKey(value) : nil
    }
}
