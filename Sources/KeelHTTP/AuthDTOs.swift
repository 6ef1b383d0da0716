import Foundation
import KeelAuth
import KeelCore

struct AuthConfigBody: Encodable {
    var mode: String
    var passwordAuthEnabled: Bool
    var oauthProviders: [String]
    var signupEnabled: Bool

    enum CodingKeys: String, CodingKey {
        case mode
        case passwordAuthEnabled = "password_auth_enabled"
        case oauthProviders = "oauth_providers"
        case signupEnabled = "signup_enabled"
    }
}

struct RegisterInput: Decodable {
    var email: String
    var password: String
    var name: String?
}

struct LoginInput: Decodable {
    var email: String
    var password: String
}

struct RefreshInput: Decodable {
    var refreshToken: String?

    enum CodingKeys: String, CodingKey { case refreshToken = "refresh_token" }
}

struct TokenBody: Encodable {
    var accessToken: String
    var tokenType = "Bearer"
    var expiresIn: Int
    var refreshToken: String

    enum CodingKeys: String, CodingKey {
        case accessToken = "access_token"
        case tokenType = "token_type"
        case expiresIn = "expires_in"
        case refreshToken = "refresh_token"
    }
}

struct MembershipBody: Encodable {
    var organizationID: String
    var name: String
    var role: String

    enum CodingKeys: String, CodingKey {
        case organizationID = "id"
        case name, role
    }
}

struct MeBody: Encodable {
    var id: String
    var email: String
    var name: String
    var roles: [String]
    var avatarURL: String?
    var organizationID: String
    var organizationRole: String
    var organizations: [MembershipBody]

    enum CodingKeys: String, CodingKey {
        case id, email, name, roles, organizations
        case avatarURL = "avatar_url"
        case organizationID = "organization_id"
        case organizationRole = "organization_role"
    }
}

struct APIKeyInput: Decodable {
    var name: String
    var scopes: [String]?
    var expiresInDays: Int?

    enum CodingKeys: String, CodingKey {
        case name, scopes
        case expiresInDays = "expires_in_days"
    }
}

struct APIKeyBody: Encodable {
    var id: String
    var name: String
    var keyPrefix: String
    var scopes: [String]
    var expiresAt: Date?
    var lastUsedAt: Date?
    var createdAt: Date
    var organizationID: String
    /// Only in the answer to the create call.
    var key: String?

    init(_ record: APIKeyRecord, key: String? = nil) {
        id = record.id
        name = record.name
        keyPrefix = record.keyPrefix
        scopes = record.scopes
        expiresAt = record.expiresAt
        lastUsedAt = record.lastUsedAt
        createdAt = record.createdAt
        organizationID = record.organizationID
        self.key = key
    }

    enum CodingKeys: String, CodingKey {
        case id, name, scopes, key
        case keyPrefix = "key_prefix"
        case expiresAt = "expires_at"
        case lastUsedAt = "last_used_at"
        case createdAt = "created_at"
        case organizationID = "organization_id"
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(id, forKey: .id)
        try container.encode(name, forKey: .name)
        try container.encode(keyPrefix, forKey: .keyPrefix)
        try container.encode(scopes, forKey: .scopes)
        try container.encode(expiresAt, forKey: .expiresAt)
        try container.encode(lastUsedAt, forKey: .lastUsedAt)
        try container.encode(createdAt, forKey: .createdAt)
        try container.encode(organizationID, forKey: .organizationID)
        try container.encodeIfPresent(key, forKey: .key)
    }
}

struct OrganizationInput: Decodable {
    var name: String
}

struct MemberInput: Decodable {
    var email: String
    var role: OrganizationRole?
}

struct MemberBody: Encodable {
    var userID: String
    var email: String
    var name: String
    var role: String

    enum CodingKeys: String, CodingKey {
        case userID = "user_id"
        case email, name, role
    }
}
