import Foundation

/// A person who can sign in: by password (`local`) or through an OAuth identity provider.
/// Emails are stored lower-cased; `passwordHash` is a bcrypt string and never leaves the server.
public struct UserAccount: Sendable, Hashable, Codable {
    public var id: String
    public var email: String
    public var name: String
    public var passwordHash: String?
    /// `local`, `github`, `google`, or `anonymous` for the seeded user of AUTH_MODE=none.
    public var authProvider: String
    /// The identity provider's own id of the user (`sub` / numeric id).
    public var authProviderID: String?
    public var avatarURL: String?
    /// Platform-wide roles (`admin` for the AUTH_MODE=admin account and the anonymous user).
    public var roles: [String]
    public var createdAt: Date

    public init(
        id: String = PublicID.make(.user), email: String, name: String, passwordHash: String? = nil,
        authProvider: String = "local", authProviderID: String? = nil, avatarURL: String? = nil, roles: [String] = [],
        createdAt: Date = Date()
    ) {
        self.id = id
        self.email = email.lowercased()
        self.name = name
        self.passwordHash = passwordHash
        self.authProvider = authProvider
        self.authProviderID = authProviderID
        self.avatarURL = avatarURL
        self.roles = roles
        self.createdAt = createdAt
    }
}

/// The tenancy boundary: every agent, session, event, provider and key belongs to exactly one.
public struct Organization: Sendable, Hashable, Codable {
    public var id: String
    public var name: String
    public var createdAt: Date

    public init(id: String = PublicID.make(.org), name: String, createdAt: Date = Date()) {
        self.id = id
        self.name = name
        self.createdAt = createdAt
    }
}

/// What a member may do in an organization. Ordered: an owner can do what an admin can, an admin
/// what a member can.
public enum OrganizationRole: String, Sendable, Hashable, Codable, CaseIterable, Comparable {
    case member, admin, owner

    private var rank: Int {
        switch self {
        case .member: 0
        case .admin: 1
        case .owner: 2
        }
    }

    public static func < (lhs: OrganizationRole, rhs: OrganizationRole) -> Bool { lhs.rank < rhs.rank }
}

/// A user's place in an organization.
public struct Membership: Sendable, Hashable, Codable {
    public var userID: String
    public var organizationID: String
    public var role: OrganizationRole
    public var createdAt: Date

    public init(userID: String, organizationID: String, role: OrganizationRole, createdAt: Date = Date()) {
        self.userID = userID
        self.organizationID = organizationID
        self.role = role
        self.createdAt = createdAt
    }
}
