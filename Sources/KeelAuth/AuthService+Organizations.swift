import Foundation
import KeelCore

extension AuthService {
    /// The organizations the principal's user belongs to, with their role in each.
    public func organizations(for principal: AuthPrincipal) async throws -> [(Organization, OrganizationRole)] {
        var result: [(Organization, OrganizationRole)] = []
        for membership in try await store.memberships(userID: principal.userID) {
            if let organization = try await store.organization(id: membership.organizationID) {
                result.append((organization, membership.role))
            }
        }
        return result
    }

    /// A new organization owned by the principal's user, with its built-ins.
    public func createOrganization(named name: String, for principal: AuthPrincipal) async throws -> Organization {
        guard settings.mode == .full else { throw AuthError.unavailable("Organizations need AUTH_MODE=full") }
        let name = name.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !name.isEmpty, name.utf8.count <= 200 else {
            throw AuthError.invalid(code: "invalid_request", message: "name must be 1 to 200 bytes")
        }
        let organization = Organization(name: name)
        try await store.insertOrganization(organization)
        try await store.upsertMembership(
            Membership(userID: principal.userID, organizationID: organization.id, role: .owner))
        try await provisionOrganization(organization.id)
        return organization
    }

    /// The members of the principal's organization with their accounts.
    public func members(for principal: AuthPrincipal) async throws -> [(UserAccount, Membership)] {
        var result: [(UserAccount, Membership)] = []
        for membership in try await store.members(organizationID: principal.organizationID) {
            if let user = try await store.user(id: membership.userID) { result.append((user, membership)) }
        }
        return result
    }

    /// Adds an existing user (by email) to the principal's organization or changes their role.
    /// Admins may add members and admins; only owners may make owners.
    public func addMember(email: String, role: OrganizationRole, by principal: AuthPrincipal) async throws
        -> (UserAccount, Membership)
    {
        try requireAccounts()
        try principal.require(.admin)
        if role == .owner { try principal.require(.owner) }
        guard let user = try await store.user(email: try Self.normalizedEmail(email)) else {
            throw StoreError.notFound(kind: "user", id: email)
        }
        let members = try await store.members(organizationID: principal.organizationID)
        if let current = members.first(where: { $0.userID == user.id }), current.role == .owner, role != .owner {
            try principal.require(.owner)
            if members.filter({ $0.role == .owner }).count == 1 {
                throw AuthError.invalid(code: "last_owner", message: "An organization keeps at least one owner")
            }
        }
        let membership = Membership(userID: user.id, organizationID: principal.organizationID, role: role)
        try await store.upsertMembership(membership)
        return (user, membership)
    }

    /// Removes a member. Admins may remove members; owners anyone but the last owner.
    public func removeMember(userID: String, by principal: AuthPrincipal) async throws {
        try requireAccounts()
        try principal.require(.admin)
        let members = try await store.members(organizationID: principal.organizationID)
        guard let target = members.first(where: { $0.userID == userID }) else {
            throw StoreError.notFound(kind: "member", id: userID)
        }
        if target.role >= .admin { try principal.require(.owner) }
        if target.role == .owner, members.filter({ $0.role == .owner }).count == 1 {
            throw AuthError.invalid(code: "last_owner", message: "An organization keeps at least one owner")
        }
        _ = try await store.removeMembership(userID: userID, organizationID: principal.organizationID)
    }
}
