import Hummingbird
import KeelAuth
import KeelCore

/// `/v1/orgs`: the caller's organizations (list, create) and the members of the active one (list,
/// add or change role, remove). Changing membership needs the admin role; making owners, the owner role.
struct OrganizationsController: Sendable {
    let auth: AuthService

    func addRoutes(to v1: RouterGroup<KeelRequestContext>) {
        v1.get("orgs") { _, context in
            let organizations = try await auth.organizations(for: try RequestScope.principal(context))
            return try JSONResponse.make(
                ListBody(data: organizations.map { MembershipBody(organizationID: $0.0.id, name: $0.0.name, role: $0.1.rawValue) }))
        }
        v1.post("orgs") { request, context in
            let input = try await RequestDecoding.decodeBody(OrganizationInput.self, from: request)
            let organization = try await auth.createOrganization(named: input.name, for: try RequestScope.principal(context))
            return try JSONResponse.make(
                MembershipBody(organizationID: organization.id, name: organization.name, role: OrganizationRole.owner.rawValue),
                status: .created)
        }
        v1.get("orgs/current/members") { _, context in
            let members = try await auth.members(for: try RequestScope.principal(context))
            return try JSONResponse.make(ListBody(data: members.map(body)))
        }
        v1.post("orgs/current/members") { request, context in
            let input = try await RequestDecoding.decodeBody(MemberInput.self, from: request)
            let added = try await auth.addMember(
                email: input.email, role: input.role ?? .member, by: try RequestScope.principal(context))
            return try JSONResponse.make(body(added), status: .created)
        }
        v1.delete("orgs/current/members/{user_id}") { _, context in
            let userID = try RequestDecoding.requireID(context, "user_id", prefix: .user)
            try await auth.removeMember(userID: userID, by: try RequestScope.principal(context))
            return JSONResponse.noContent()
        }
    }

    private func body(_ member: (UserAccount, Membership)) -> MemberBody {
        MemberBody(userID: member.0.id, email: member.0.email, name: member.0.name, role: member.1.role.rawValue)
    }
}
