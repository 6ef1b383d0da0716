/// Why authentication or an account operation failed. KeelHTTP maps each case to a status in its
/// one error mapping; messages never contain a secret or say whether an email exists.
public enum AuthError: Error, Sendable, Hashable {
    /// No credential, or one that is malformed, expired, revoked or wrong (401).
    case unauthenticated(String)
    /// Authenticated, but the role or mode does not allow it (403).
    case forbidden(String)
    /// Bad input to an auth route (400), with a code such as `invalid_password`.
    case invalid(code: String, message: String)
    /// An account with this email exists (409).
    case emailTaken
    /// Too many attempts; retry after the given whole seconds (429).
    case rateLimited(retryAfterSeconds: Int)
    /// The route does not exist in this AUTH_MODE or configuration (404).
    case unavailable(String)
    /// The identity provider failed or answered something unusable (502).
    case identityProviderFailed(String)

    static let invalidLogin = AuthError.unauthenticated("Invalid email or password")
    static let invalidCredential = AuthError.unauthenticated("Invalid or expired credentials")
}
