import KeelCore

/// The conflicts both `AuthStore` implementations report, worded once so callers (and the
/// conformance tests) see the same error from either.
enum AuthConflict {
    static func userID(_ id: String) -> StoreError { .conflict("user \(id) already exists") }
    static func email(_ email: String) -> StoreError { .conflict("a user with email '\(email)' already exists") }
    static func providerIdentity(_ provider: String) -> StoreError {
        .conflict("a user with that \(provider) identity already exists")
    }
    static func organization(_ id: String) -> StoreError { .conflict("organization \(id) already exists") }
    static func apiKeyID(_ id: String) -> StoreError { .conflict("API key \(id) already exists") }
    static let apiKeyHash = StoreError.conflict("an API key with that hash already exists")
    static let refreshToken = StoreError.conflict("that refresh token already exists")
}
