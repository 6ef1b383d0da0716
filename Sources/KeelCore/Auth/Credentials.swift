import Foundation

/// An API key as stored: only the SHA-256 of the key (hex) and a display prefix are kept; the key
/// itself is shown once, at creation. A key acts for its user in the organization it was made in.
public struct APIKeyRecord: Sendable, Hashable, Codable {
    public var id: String
    public var userID: String
    public var organizationID: String
    public var name: String
    public var keyHash: String
    public var keyPrefix: String
    public var scopes: [String]
    public var expiresAt: Date?
    public var lastUsedAt: Date?
    public var createdAt: Date

    public init(
        id: String = PublicID.make(.apikey), userID: String, organizationID: String, name: String, keyHash: String,
        keyPrefix: String, scopes: [String] = ["*"], expiresAt: Date? = nil, lastUsedAt: Date? = nil,
        createdAt: Date = Date()
    ) {
        self.id = id
        self.userID = userID
        self.organizationID = organizationID
        self.name = name
        self.keyHash = keyHash
        self.keyPrefix = keyPrefix
        self.scopes = scopes
        self.expiresAt = expiresAt
        self.lastUsedAt = lastUsedAt
        self.createdAt = createdAt
    }
}

/// A refresh token as stored: its SHA-256 (hex) only. Refreshing rotates it (the old one is
/// revoked); logging out revokes it.
public struct RefreshTokenRecord: Sendable, Hashable, Codable {
    public var tokenHash: String
    public var userID: String
    public var expiresAt: Date
    public var createdAt: Date

    public init(tokenHash: String, userID: String, expiresAt: Date, createdAt: Date = Date()) {
        self.tokenHash = tokenHash
        self.userID = userID
        self.expiresAt = expiresAt
        self.createdAt = createdAt
    }
}
