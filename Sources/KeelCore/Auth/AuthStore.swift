import Foundation

/// Persistence for users, organizations, memberships, API keys and refresh tokens (in memory for
/// DEV_MODE, PostgreSQL otherwise). Secrets arrive here already hashed.
///
/// Conflicts (an email or a provider identity already taken) throw `StoreError.conflict`; missing
/// rows on update throw `StoreError.notFound`.
public protocol AuthStore: Sendable {
    /// Creates a user, an organization and the user's membership in it, all or nothing.
    func createAccount(_ user: UserAccount, organization: Organization, role: OrganizationRole) async throws
    /// Adds a user without an organization of their own (the anonymous user, the administrator,
    /// who join the default organization through `upsertMembership`).
    func insertUser(_ user: UserAccount) async throws
    func user(id: String) async throws -> UserAccount?
    /// Matches the lower-cased email.
    func user(email: String) async throws -> UserAccount?
    func user(authProvider: String, authProviderID: String) async throws -> UserAccount?
    @discardableResult
    func updateUser(id: String, _ change: @Sendable (inout UserAccount) throws -> Void) async throws -> UserAccount

    func insertOrganization(_ organization: Organization) async throws
    func organization(id: String) async throws -> Organization?
    /// Adds the membership, or changes the role of an existing one.
    func upsertMembership(_ membership: Membership) async throws
    func removeMembership(userID: String, organizationID: String) async throws -> Bool
    /// The user's memberships, oldest first (the first is the default organization).
    func memberships(userID: String) async throws -> [Membership]
    func members(organizationID: String) async throws -> [Membership]

    func insertAPIKey(_ key: APIKeyRecord) async throws
    func apiKey(hash: String) async throws -> APIKeyRecord?
    /// The user's keys in one organization, newest first.
    func apiKeys(userID: String, organizationID: String) async throws -> [APIKeyRecord]
    /// Deletes the key if it is the user's; false when there is no such key of theirs.
    func deleteAPIKey(id: String, userID: String) async throws -> Bool
    func recordAPIKeyUse(id: String, at: Date) async throws

    func insertRefreshToken(_ token: RefreshTokenRecord) async throws
    /// Removes and returns the token: a refresh token works once.
    func takeRefreshToken(hash: String) async throws -> RefreshTokenRecord?
}
