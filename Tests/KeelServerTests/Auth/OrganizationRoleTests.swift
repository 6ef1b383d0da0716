import Foundation
import HTTPTypes
import KeelAuth
import KeelCore
import KeelServer
import Testing

/// Organizations, membership roles and `X-Org-Id` (issue 10).
@Suite("Organizations and roles")
struct OrganizationRoleTests {
    static let orgHeader = HTTPField.Name("X-Org-Id")!

    @Test("a member works in the organization but may not change providers (403); an admin may; X-Org-Id picks the organization")
    func roles() async throws {
        try await TestServer.run(environment: AuthTest.environment()) { server in
            let owner = try await server.register("owner@example.com")
            let member = try await server.register("member@example.com")
            let add = try await server.request(
                .post, "/v1/orgs/current/members", json: ["email": "member@example.com", "role": "member"], headers: owner.headers)
            #expect(add.status == 201, "\(add.text)")

            // Without X-Org-Id the member acts in their own (first) organization.
            let home = try await server.request(.get, "/v1/auth/me", headers: member.headers)
            #expect(home.json["organization_id"]?.stringValue == member.organizationID)
            #expect(home.json["organizations"]?.arrayValue?.count == 2)

            var inOwnerOrg = member.headers
            inOwnerOrg[Self.orgHeader] = owner.organizationID
            let agent = try await server.request(
                .post, "/v1/agents", json: ["name": "shared", "system_prompt": "x"], headers: inOwnerOrg)
            #expect(agent.status == 201, "a member may create agents")
            #expect(agent.json["organization_id"]?.stringValue == owner.organizationID)
            let ownerSees = try await server.request(.get, "/v1/agents", headers: owner.headers)
            #expect(ownerSees.json["data"]?.arrayValue?.contains { $0["name"] == "shared" } == true)

            let provider = try await server.request(
                .post, "/v1/providers", json: ["name": "Mine", "provider_type": "openai", "api_key": "sk-member"], headers: inOwnerOrg)
            #expect(provider.status == 403)
            #expect(provider.json["error"]?["code"] == "forbidden")
            let builtIn = try #require(
                try await server.request(.get, "/v1/providers", headers: inOwnerOrg).json["data"]?.arrayValue?.first?["id"]?.stringValue)
            #expect(try await server.request(.delete, "/v1/providers/\(builtIn)", headers: inOwnerOrg).status == 403)
            let promote = try await server.request(
                .post, "/v1/orgs/current/members", json: ["email": "member@example.com", "role": "admin"], headers: inOwnerOrg)
            #expect(promote.status == 403, "a member cannot promote themselves")

            #expect(try await server.request(
                .post, "/v1/orgs/current/members", json: ["email": "member@example.com", "role": "admin"], headers: owner.headers
            ).status == 201)
            let asAdmin = try await server.request(
                .post, "/v1/providers", json: ["name": "Mine", "provider_type": "openai", "api_key": "sk-admin"], headers: inOwnerOrg)
            #expect(asAdmin.status == 201, "\(asAdmin.text)")
            let makeOwner = try await server.request(
                .post, "/v1/orgs/current/members", json: ["email": "member@example.com", "role": "owner"], headers: inOwnerOrg)
            #expect(makeOwner.status == 403, "only an owner makes owners")

            // Not a member: refused, not silently ignored.
            var elsewhere = owner.headers
            elsewhere[Self.orgHeader] = member.organizationID
            #expect(try await server.request(.get, "/v1/agents", headers: elsewhere).status == 403)

            // Removed from the organization: the X-Org-Id is refused at once.
            #expect(try await server.request(.delete, "/v1/orgs/current/members/\(member.userID)", headers: owner.headers).status == 204)
            #expect(try await server.request(.get, "/v1/agents", headers: inOwnerOrg).status == 403)
            let lastOwner = try await server.request(.delete, "/v1/orgs/current/members/\(owner.userID)", headers: owner.headers)
            #expect(lastOwner.status == 400)
            let demoteSelf = try await server.request(
                .post, "/v1/orgs/current/members", json: ["email": "owner@example.com", "role": "member"], headers: owner.headers)
            #expect(demoteSelf.status == 400, "the last owner cannot demote themselves: \(demoteSelf.text)")
            #expect(demoteSelf.json["error"]?["code"] == "last_owner")
        }
    }

    @Test("a new organization starts with its own built-in providers, an API key stays in the organization it was made in, and the UI's keel_org cookie picks among the user's own")
    func newOrganization() async throws {
        try await TestServer.run(environment: AuthTest.environment()) { server in
            let account = try await server.register("multi@example.com")
            let created = try await server.request(.post, "/v1/orgs", json: ["name": "Second"], headers: account.headers)
            #expect(created.status == 201)
            let second = try #require(created.json["id"]?.stringValue)
            var inSecond = account.headers
            inSecond[Self.orgHeader] = second
            let providers = try await server.request(.get, "/v1/providers", headers: inSecond).json["data"]?.arrayValue ?? []
            let firstProviders = try await server.request(.get, "/v1/providers", headers: account.headers).json["data"]?.arrayValue ?? []
            #expect(providers.count == 4 && firstProviders.count == 4)
            let secondIDs = Set(providers.compactMap { $0["id"]?.stringValue })
            let firstIDs = Set(firstProviders.compactMap { $0["id"]?.stringValue })
            #expect(secondIDs.isDisjoint(with: firstIDs))
            let session = try await server.request(.post, "/v1/sessions", json: ["model_id": "sim"], headers: inSecond)
            #expect(session.status == 201, "the sim model resolves in the new organization: \(session.text)")

            let key = try await server.request(.post, "/v1/auth/api-keys", json: ["name": "second"], headers: inSecond)
            let raw = try #require(key.json["key"]?.stringValue)
            #expect(key.json["organization_id"]?.stringValue == second)
            let me = try await server.request(.get, "/v1/auth/me", headers: [.authorization: raw])
            #expect(me.json["organization_id"]?.stringValue == second)
            let mismatch = try await server.request(
                .get, "/v1/agents", headers: [.authorization: raw, Self.orgHeader: account.organizationID])
            #expect(mismatch.status == 403)

            // The web UI's choice: the `keel_org` cookie picks among the memberships of a cookie
            // session; a stale or foreign choice falls back to the first; X-Org-Id still wins; a
            // bearer token or API key ignores the cookie.
            let cookie = "access_token=\(account.accessToken)"
            func organization(_ headers: HTTPFields) async throws -> String? {
                try await server.request(.get, "/v1/auth/me", headers: headers).json["organization_id"]?.stringValue
            }
            #expect(try await organization([.cookie: "\(cookie); keel_org=\(second)"]) == second)
            #expect(try await organization([.cookie: "keel_org=\(second); \(cookie)"]) == second)
            #expect(try await organization([.cookie: "\(cookie); keel_org=org_not_mine"]) == account.organizationID)
            #expect(try await organization(
                [.cookie: "\(cookie); keel_org=\(second)", Self.orgHeader: account.organizationID]) == account.organizationID)
            var bearer = account.headers
            bearer[.cookie] = "keel_org=\(second)"
            #expect(try await organization(bearer) == account.organizationID)
            let stranger = try await server.register("stranger@example.com")
            #expect(try await organization([.cookie: "access_token=\(stranger.accessToken); keel_org=\(second)"])
                == stranger.organizationID, "a cookie naming someone else's organization grants nothing")
        }
    }

    @Test("incomplete auth configurations stop start-up with one line naming the variable; AUTH_MODE=none outside DEV_MODE warns")
    func configuration() throws {
        func problem(_ environment: [String: String]) -> String? {
            do {
                let configuration = try KeelConfiguration(environment: environment)
                _ = try configuration.startupCheck()
                return nil
            } catch {
                return "\(error)"
            }
        }
        let production = [
            "DATABASE_URL": "postgres://db/keel", "SECRETS_ENCRYPTION_KEY": "kek-v1:" + Data(repeating: 1, count: 32).base64EncodedString(),
            "WORKER_GRPC_AUTH_TOKEN": "t",
        ]
        #expect(problem(production)?.hasPrefix("AUTH_JWT_SECRET: required with AUTH_MODE=full outside DEV_MODE") == true)
        #expect(problem(production.merging(["AUTH_JWT_SECRET": "short"]) { $1 }) == "AUTH_JWT_SECRET: must be at least 32 characters")
        #expect(problem(production.merging(["AUTH_JWT_SECRET": String(repeating: "s", count: 32)]) { $1 }) == nil)
        #expect(problem(["DEV_MODE": "1", "AUTH_MODE": "admin", "AUTH_ADMIN_EMAIL": "a@b.io"])
            == "AUTH_ADMIN_PASSWORD: required with AUTH_MODE=admin")
        #expect(problem(["DEV_MODE": "1", "AUTH_MODE": "admin"])?.hasPrefix("AUTH_ADMIN_EMAIL:") == true)
        #expect(problem(["DEV_MODE": "1", "AUTH_MODE": "sometimes"])?.hasPrefix("AUTH_MODE: expected one of none, admin, full") == true)
        #expect(problem(["DEV_MODE": "1", "AUTH_GITHUB_CLIENT_ID": "id"]) == "AUTH_GITHUB_CLIENT_SECRET: required with AUTH_GITHUB_CLIENT_ID")
        let open = try KeelConfiguration(environment: production.merging(["AUTH_MODE": "none"]) { $1 })
        #expect(try open.startupCheck().contains { $0.hasPrefix("AUTH_MODE=none outside DEV_MODE") })
        #expect(try KeelConfiguration(environment: [:]).auth.mode == .full, "secure by default outside DEV_MODE")
        #expect(try KeelConfiguration(environment: ["DEV_MODE": "1"]).auth.mode == .none)
    }
}
