import Foundation
import KeelCore

/// `AuthStore` for DEV_MODE: users, organizations, memberships, API keys and refresh tokens in one
/// actor, lost when the process stops. Each call is one actor turn, so checks and writes are atomic.
public actor InMemoryAuthStore: AuthStore {
    private var users: [String: UserAccount] = [:]
    private var organizations: [String: Organization] = [:]
    /// Keyed by user id, then organization id.
    private var membershipsByUser: [String: [String: Membership]] = [:]
    private var apiKeys: [String: APIKeyRecord] = [:]
    private var refreshTokens: [String: RefreshTokenRecord] = [:]

    public init() {}

    // MARK: Users

    public func createAccount(_ user: UserAccount, organization: Organization, role: OrganizationRole) throws {
        var user = user
        user.email = user.email.lowercased()
        // Every check before any write: a refused account leaves nothing behind.
        try checkUserIsNew(user)
        try checkOrganizationIsNew(organization)
        users[user.id] = user
        organizations[organization.id] = organization
        membershipsByUser[user.id, default: [:]][organization.id] = Membership(
            userID: user.id, organizationID: organization.id, role: role, createdAt: user.createdAt)
    }

    public func insertUser(_ user: UserAccount) throws {
        var user = user
        user.email = user.email.lowercased()
        try checkUserIsNew(user)
        users[user.id] = user
    }

    public func user(id: String) -> UserAccount? { users[id] }

    public func user(email: String) -> UserAccount? {
        let email = email.lowercased()
        return users.values.first { $0.email == email }
    }

    public func user(authProvider: String, authProviderID: String) -> UserAccount? {
        users.values.first { $0.authProvider == authProvider && $0.authProviderID == authProviderID }
    }

    public func updateUser(id: String, _ change: @Sendable (inout UserAccount) throws -> Void) throws -> UserAccount {
        guard var user = users[id] else { throw StoreError.notFound(kind: "user", id: id) }
        try change(&user)
        user.id = id  // the id is the row's identity, not something a change can move
        user.email = user.email.lowercased()
        try checkIdentityIsFree(user)
        users[id] = user
        return user
    }

    private func checkUserIsNew(_ user: UserAccount) throws {
        guard users[user.id] == nil else { throw AuthConflict.userID(user.id) }
        try checkIdentityIsFree(user)
    }

    /// The email and the provider identity are taken by no other user.
    private func checkIdentityIsFree(_ user: UserAccount) throws {
        if users.values.contains(where: { $0.id != user.id && $0.email == user.email }) {
            throw AuthConflict.email(user.email)
        }
        if let providerID = user.authProviderID,
            users.values.contains(where: {
                $0.id != user.id && $0.authProvider == user.authProvider && $0.authProviderID == providerID
            })
        {
            throw AuthConflict.providerIdentity(user.authProvider)
        }
    }

    // MARK: Organizations and memberships

    public func insertOrganization(_ organization: Organization) throws {
        try checkOrganizationIsNew(organization)
        organizations[organization.id] = organization
    }

    private func checkOrganizationIsNew(_ organization: Organization) throws {
        guard organizations[organization.id] == nil else { throw AuthConflict.organization(organization.id) }
    }

    public func organization(id: String) -> Organization? { organizations[id] }

    public func upsertMembership(_ membership: Membership) throws {
        guard users[membership.userID] != nil else { throw StoreError.notFound(kind: "user", id: membership.userID) }
        guard organizations[membership.organizationID] != nil else {
            throw StoreError.notFound(kind: "organization", id: membership.organizationID)
        }
        if var existing = membershipsByUser[membership.userID]?[membership.organizationID] {
            // Only the role changes: the original join time keeps the default organization first.
            existing.role = membership.role
            membershipsByUser[membership.userID]?[membership.organizationID] = existing
        } else {
            membershipsByUser[membership.userID, default: [:]][membership.organizationID] = membership
        }
    }

    public func removeMembership(userID: String, organizationID: String) -> Bool {
        membershipsByUser[userID]?.removeValue(forKey: organizationID) != nil
    }

    public func memberships(userID: String) -> [Membership] {
        Self.oldestFirst(membershipsByUser[userID].map { Array($0.values) } ?? [])
    }

    public func members(organizationID: String) -> [Membership] {
        Self.oldestFirst(membershipsByUser.values.compactMap { $0[organizationID] })
    }

    private static func oldestFirst(_ memberships: [Membership]) -> [Membership] {
        memberships.sorted {
            ($0.createdAt, $0.organizationID, $0.userID) < ($1.createdAt, $1.organizationID, $1.userID)
        }
    }

    // MARK: API keys

    public func insertAPIKey(_ key: APIKeyRecord) throws {
        guard apiKeys[key.id] == nil else { throw AuthConflict.apiKeyID(key.id) }
        guard !apiKeys.values.contains(where: { $0.keyHash == key.keyHash }) else { throw AuthConflict.apiKeyHash }
        guard users[key.userID] != nil else { throw StoreError.notFound(kind: "user", id: key.userID) }
        guard organizations[key.organizationID] != nil else {
            throw StoreError.notFound(kind: "organization", id: key.organizationID)
        }
        apiKeys[key.id] = key
    }

    public func apiKey(hash: String) -> APIKeyRecord? {
        apiKeys.values.first { $0.keyHash == hash }
    }

    public func apiKeys(userID: String, organizationID: String) -> [APIKeyRecord] {
        apiKeys.values
            .filter { $0.userID == userID && $0.organizationID == organizationID }
            .sorted { ($0.createdAt, $0.id) > ($1.createdAt, $1.id) }
    }

    public func deleteAPIKey(id: String, userID: String) -> Bool {
        guard apiKeys[id]?.userID == userID else { return false }
        apiKeys[id] = nil
        return true
    }

    public func recordAPIKeyUse(id: String, at date: Date) {
        guard var key = apiKeys[id] else { return }
        key.lastUsedAt = max(key.lastUsedAt ?? date, date)
        apiKeys[id] = key
    }

    // MARK: Refresh tokens

    public func insertRefreshToken(_ token: RefreshTokenRecord) throws {
        guard refreshTokens[token.tokenHash] == nil else { throw AuthConflict.refreshToken }
        guard users[token.userID] != nil else { throw StoreError.notFound(kind: "user", id: token.userID) }
        refreshTokens[token.tokenHash] = token
    }

    public func takeRefreshToken(hash: String) -> RefreshTokenRecord? {
        guard let token = refreshTokens.removeValue(forKey: hash), token.expiresAt > Date() else { return nil }
        return token
    }
}
