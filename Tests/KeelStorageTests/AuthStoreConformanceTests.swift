import Foundation
import KeelCore
import KeelStorage
import PostgresNIO
import Testing

/// Runs `body` against a fresh auth store of the given kind (for PostgreSQL: a new database with
/// every migration set applied, the store running until `body` returns).
func withAuthStore<Result: Sendable>(_ kind: StoreKind, _ body: (any AuthStore) async throws -> Result)
    async throws -> Result
{
    switch kind {
    case .inMemory:
        return try await body(InMemoryAuthStore())
    case .postgres:
        return try await TestDatabase.withDatabase { configuration in
            let store = try PostgresStore(configuration: configuration, logger: TestDatabase.logger)
            return try await store.withRunning { try await body($0) }
        }
    }
}

/// A whole-second instant `seconds` from now (every store returns it unchanged).
private func fromNow(_ seconds: Double) -> Date {
    Date(timeIntervalSince1970: (Date().timeIntervalSince1970 + seconds).rounded())
}

/// The `AuthStore` contract, run identically against every implementation.
@Suite("Auth store conformance", .timeLimit(.minutes(2)))
struct AuthStoreConformanceTests {
    static func account(_ email: String, provider: String = "local", providerID: String? = nil, at seconds: Int = 0)
        -> (UserAccount, Organization)
    {
        let user = UserAccount(
            email: email, name: "User \(email)", passwordHash: provider == "local" ? "$2b$12$hash" : nil,
            authProvider: provider, authProviderID: providerID, roles: [], createdAt: day(seconds))
        return (user, Organization(name: "Org of \(email)", createdAt: day(seconds)))
    }

    // MARK: Accounts

    @Test("accounts: created whole, read by id, by email in any case, by provider identity", arguments: StoreKind.allCases)
    func accountRoundTrip(kind: StoreKind) async throws {
        try await withAuthStore(kind) { store in
            let user = UserAccount(
                email: "Ada.Lovelace@Example.COM", name: "Ada", authProvider: "github", authProviderID: "4242",
                avatarURL: "https://example.com/ada.png", roles: ["admin"], createdAt: day(0))
            let organization = Organization(name: "Analytical Engines", createdAt: day(0))
            try await store.createAccount(user, organization: organization, role: .owner)

            #expect(user.email == "ada.lovelace@example.com")
            #expect(try await store.user(id: user.id) == user)
            #expect(try await store.user(email: "ADA.lovelace@example.com") == user)
            #expect(try await store.user(email: "ada.lovelace@example.com") == user)
            #expect(try await store.user(authProvider: "github", authProviderID: "4242") == user)
            #expect(try await store.user(authProvider: "google", authProviderID: "4242") == nil)
            #expect(try await store.user(authProvider: "github", authProviderID: "4243") == nil)
            #expect(try await store.user(id: PublicID.make(.user)) == nil)
            #expect(try await store.user(email: "someone@example.com") == nil)

            #expect(try await store.organization(id: organization.id) == organization)
            #expect(try await store.organization(id: PublicID.make(.org)) == nil)
            let membership = Membership(userID: user.id, organizationID: organization.id, role: .owner, createdAt: day(0))
            #expect(try await store.memberships(userID: user.id) == [membership])
            #expect(try await store.members(organizationID: organization.id) == [membership])
        }
    }

    @Test("accounts: a taken email or provider identity conflicts and leaves nothing half-created",
          arguments: StoreKind.allCases)
    func accountConflicts(kind: StoreKind) async throws {
        try await withAuthStore(kind) { store in
            let (first, firstOrganization) = Self.account("grace@example.com", provider: "github", providerID: "7")
            try await store.createAccount(first, organization: firstOrganization, role: .owner)

            let (sameEmail, sameEmailOrganization) = Self.account("GRACE@Example.com", at: 1)
            await #expect(throws: StoreError.conflict("a user with email 'grace@example.com' already exists")) {
                try await store.createAccount(sameEmail, organization: sameEmailOrganization, role: .owner)
            }
            #expect(try await store.user(id: sameEmail.id) == nil)
            #expect(try await store.organization(id: sameEmailOrganization.id) == nil)
            #expect(try await store.memberships(userID: sameEmail.id).isEmpty)

            let (sameIdentity, sameIdentityOrganization) = Self.account(
                "other@example.com", provider: "github", providerID: "7", at: 2)
            await #expect(throws: StoreError.conflict("a user with that github identity already exists")) {
                try await store.createAccount(sameIdentity, organization: sameIdentityOrganization, role: .owner)
            }
            #expect(try await store.user(email: "other@example.com") == nil)
            #expect(try await store.organization(id: sameIdentityOrganization.id) == nil)

            // An organization id already taken refuses the whole account too.
            let (reusingOrganization, _) = Self.account("third@example.com", at: 3)
            await #expect(throws: StoreError.conflict("organization \(firstOrganization.id) already exists")) {
                try await store.createAccount(reusingOrganization, organization: firstOrganization, role: .member)
            }
            #expect(try await store.user(id: reusingOrganization.id) == nil)
            #expect(try await store.members(organizationID: firstOrganization.id).map(\.userID) == [first.id])

            // The same provider id at another provider, and several local users without one, are fine.
            let (google, googleOrganization) = Self.account("g@example.com", provider: "google", providerID: "7", at: 4)
            try await store.createAccount(google, organization: googleOrganization, role: .owner)
            for (index, email) in ["a@example.com", "b@example.com"].enumerated() {
                let (local, organization) = Self.account(email, at: 5 + index)
                try await store.createAccount(local, organization: organization, role: .owner)
                #expect(try await store.user(email: email) == local)
            }
            #expect(try await store.user(authProvider: "google", authProviderID: "7") == google)
        }
    }

    @Test("users: inserted on their own, with no organization; a taken email conflicts", arguments: StoreKind.allCases)
    func insertUser(kind: StoreKind) async throws {
        try await withAuthStore(kind) { store in
            var admin = UserAccount(email: "admin@example.com", name: "Administrator", roles: ["admin"], createdAt: day(0))
            admin.email = "Admin@Example.com"  // set after init, so only the store can fold it
            try await store.insertUser(admin)
            let stored = try await store.user(id: admin.id)
            #expect(stored?.email == "admin@example.com")
            #expect(try await store.user(email: "ADMIN@example.com") == stored)
            #expect(try await store.memberships(userID: admin.id).isEmpty)

            await #expect(throws: StoreError.conflict("a user with email 'admin@example.com' already exists")) {
                try await store.insertUser(UserAccount(email: "admin@EXAMPLE.com", name: "Impostor", createdAt: day(1)))
            }
            await #expect(throws: StoreError.conflict("user \(admin.id) already exists")) {
                try await store.insertUser(UserAccount(id: admin.id, email: "other@example.com", name: "Twin"))
            }
            #expect(try await store.user(email: "other@example.com") == nil)
        }
    }

    @Test("users: updates are stored lower-cased, keep the id, conflict on a taken email", arguments: StoreKind.allCases)
    func updateUser(kind: StoreKind) async throws {
        try await withAuthStore(kind) { store in
            let (ada, adaOrganization) = Self.account("ada@example.com")
            let (bob, bobOrganization) = Self.account("bob@example.com", at: 1)
            try await store.createAccount(ada, organization: adaOrganization, role: .owner)
            try await store.createAccount(bob, organization: bobOrganization, role: .owner)

            let updated = try await store.updateUser(id: ada.id) { user in
                user.name = "Ada L."
                user.email = "Ada@New.Example.com"
                user.roles = ["admin"]
                user.authProvider = "google"
                user.authProviderID = "g-1"
                user.id = "user_elsewhere"
            }
            #expect(updated.id == ada.id && updated.email == "ada@new.example.com" && updated.name == "Ada L.")
            #expect(try await store.user(id: ada.id) == updated)
            #expect(try await store.user(id: "user_elsewhere") == nil)
            #expect(try await store.user(email: "ada@example.com") == nil)
            #expect(try await store.user(authProvider: "google", authProviderID: "g-1") == updated)

            await #expect(throws: StoreError.conflict("a user with email 'ada@new.example.com' already exists")) {
                try await store.updateUser(id: bob.id) { $0.email = "ADA@new.example.com" }
            }
            await #expect(throws: StoreError.conflict("a user with that google identity already exists")) {
                try await store.updateUser(id: bob.id) {
                    $0.authProvider = "google"
                    $0.authProviderID = "g-1"
                }
            }
            #expect(try await store.user(id: bob.id) == bob, "a refused update changes nothing")
            let missing = PublicID.make(.user)
            await #expect(throws: StoreError.notFound(kind: "user", id: missing)) {
                try await store.updateUser(id: missing) { $0.name = "nobody" }
            }
        }
    }

    // MARK: Organizations and memberships

    @Test("memberships: oldest first, upsert changes only the role, removal, members of an organization",
          arguments: StoreKind.allCases)
    func memberships(kind: StoreKind) async throws {
        try await withAuthStore(kind) { store in
            let (ada, home) = Self.account("ada@example.com")
            let (bob, bobHome) = Self.account("bob@example.com", at: 1)
            try await store.createAccount(ada, organization: home, role: .owner)
            try await store.createAccount(bob, organization: bobHome, role: .owner)
            let later = Organization(name: "Later", createdAt: day(2))
            let earlier = Organization(name: "Earlier", createdAt: day(2))
            try await store.insertOrganization(later)
            try await store.insertOrganization(earlier)
            await #expect(throws: StoreError.conflict("organization \(later.id) already exists")) {
                try await store.insertOrganization(later)
            }

            let joinedLater = Membership(userID: ada.id, organizationID: later.id, role: .member, createdAt: day(9))
            let joinedEarlier = Membership(userID: ada.id, organizationID: earlier.id, role: .admin, createdAt: day(5))
            try await store.upsertMembership(joinedLater)
            try await store.upsertMembership(joinedEarlier)
            let owner = Membership(userID: ada.id, organizationID: home.id, role: .owner, createdAt: day(0))
            #expect(try await store.memberships(userID: ada.id) == [owner, joinedEarlier, joinedLater])

            // A second upsert changes the role; the join time (and so the order) stays.
            try await store.upsertMembership(
                Membership(userID: ada.id, organizationID: later.id, role: .admin, createdAt: day(1)))
            var promoted = joinedLater
            promoted.role = .admin
            #expect(try await store.memberships(userID: ada.id) == [owner, joinedEarlier, promoted])

            let bobJoins = Membership(userID: bob.id, organizationID: later.id, role: .member, createdAt: day(7))
            try await store.upsertMembership(bobJoins)
            #expect(try await store.members(organizationID: later.id) == [bobJoins, promoted])
            #expect(try await store.members(organizationID: bobHome.id).map(\.userID) == [bob.id])

            #expect(try await store.removeMembership(userID: ada.id, organizationID: later.id))
            #expect(try await !store.removeMembership(userID: ada.id, organizationID: later.id))
            #expect(try await store.memberships(userID: ada.id) == [owner, joinedEarlier])
            #expect(try await store.members(organizationID: later.id) == [bobJoins])

            let stranger = PublicID.make(.user)
            await #expect(throws: StoreError.notFound(kind: "user", id: stranger)) {
                try await store.upsertMembership(Membership(userID: stranger, organizationID: later.id, role: .member))
            }
            let nowhere = PublicID.make(.org)
            await #expect(throws: StoreError.notFound(kind: "organization", id: nowhere)) {
                try await store.upsertMembership(Membership(userID: ada.id, organizationID: nowhere, role: .member))
            }
            #expect(try await store.memberships(userID: stranger).isEmpty)
        }
    }

    // MARK: API keys

    @Test("API keys: lookup by hash, newest first per user and organization, deleted only by their user, use recorded",
          arguments: StoreKind.allCases)
    func apiKeys(kind: StoreKind) async throws {
        try await withAuthStore(kind) { store in
            let (ada, home) = Self.account("ada@example.com")
            let (bob, bobHome) = Self.account("bob@example.com", at: 1)
            try await store.createAccount(ada, organization: home, role: .owner)
            try await store.createAccount(bob, organization: bobHome, role: .owner)
            try await store.upsertMembership(Membership(userID: bob.id, organizationID: home.id, role: .member))

            func key(_ name: String, _ user: UserAccount, _ organization: Organization, at seconds: Int) -> APIKeyRecord {
                APIKeyRecord(
                    userID: user.id, organizationID: organization.id, name: name, keyHash: "hash-\(name)",
                    keyPrefix: "keel_\(name.prefix(4))", scopes: ["agents:read", "sessions:write"],
                    expiresAt: day(seconds + 86_400), createdAt: day(seconds))
            }
            let old = key("old", ada, home, at: 10)
            let new = key("new", ada, home, at: 30)
            let elsewhere = key("elsewhere", ada, bobHome, at: 20)
            let bobs = key("bobs", bob, home, at: 40)
            var unlimited = key("unlimited", bob, bobHome, at: 50)
            unlimited.expiresAt = nil
            unlimited.scopes = []
            for record in [old, new, elsewhere, bobs, unlimited] { try await store.insertAPIKey(record) }

            #expect(try await store.apiKey(hash: "hash-new") == new)
            #expect(try await store.apiKey(hash: "hash-unlimited") == unlimited)
            #expect(try await store.apiKey(hash: "hash-none") == nil)
            #expect(try await store.apiKeys(userID: ada.id, organizationID: home.id) == [new, old])
            #expect(try await store.apiKeys(userID: ada.id, organizationID: bobHome.id) == [elsewhere])
            #expect(try await store.apiKeys(userID: bob.id, organizationID: home.id) == [bobs])

            await #expect(throws: StoreError.conflict("an API key with that hash already exists")) {
                try await store.insertAPIKey(APIKeyRecord(
                    userID: bob.id, organizationID: home.id, name: "copy", keyHash: "hash-old", keyPrefix: "keel_copy"))
            }
            await #expect(throws: StoreError.conflict("API key \(old.id) already exists")) {
                var sameID = old
                sameID.keyHash = "hash-fresh"
                try await store.insertAPIKey(sameID)
            }
            let stranger = PublicID.make(.user)
            await #expect(throws: StoreError.notFound(kind: "user", id: stranger)) {
                try await store.insertAPIKey(APIKeyRecord(
                    userID: stranger, organizationID: home.id, name: "x", keyHash: "hash-x", keyPrefix: "keel_x"))
            }

            // Another user (even a member of the same organization) cannot delete the key.
            #expect(try await !store.deleteAPIKey(id: old.id, userID: bob.id))
            #expect(try await store.apiKey(hash: "hash-old") == old)
            #expect(try await store.deleteAPIKey(id: old.id, userID: ada.id))
            #expect(try await store.apiKey(hash: "hash-old") == nil)
            #expect(try await !store.deleteAPIKey(id: old.id, userID: ada.id))
            #expect(try await store.apiKeys(userID: ada.id, organizationID: home.id) == [new])

            try await store.recordAPIKeyUse(id: new.id, at: day(100))
            #expect(try await store.apiKey(hash: "hash-new")?.lastUsedAt == day(100))
            // A use recorded late (an earlier request finishing last) does not move it back.
            try await store.recordAPIKeyUse(id: new.id, at: day(90))
            #expect(try await store.apiKey(hash: "hash-new")?.lastUsedAt == day(100))
            try await store.recordAPIKeyUse(id: new.id, at: day(110))
            #expect(try await store.apiKey(hash: "hash-new")?.lastUsedAt == day(110))
            #expect(try await store.apiKey(hash: "hash-bobs")?.lastUsedAt == nil)
            // A key deleted meanwhile: nothing to record, and no error.
            try await store.recordAPIKeyUse(id: old.id, at: day(120))
            #expect(try await store.apiKey(hash: "hash-old") == nil)
        }
    }

    // MARK: Refresh tokens

    @Test("refresh tokens: taken once; an expired one is nil", arguments: StoreKind.allCases)
    func refreshTokens(kind: StoreKind) async throws {
        try await withAuthStore(kind) { store in
            let (ada, home) = Self.account("ada@example.com")
            try await store.createAccount(ada, organization: home, role: .owner)
            let live = RefreshTokenRecord(tokenHash: "live", userID: ada.id, expiresAt: fromNow(3600), createdAt: day(0))
            let expired = RefreshTokenRecord(tokenHash: "expired", userID: ada.id, expiresAt: fromNow(-60), createdAt: day(0))
            try await store.insertRefreshToken(live)
            try await store.insertRefreshToken(expired)
            await #expect(throws: StoreError.conflict("that refresh token already exists")) {
                try await store.insertRefreshToken(live)
            }
            let stranger = PublicID.make(.user)
            await #expect(throws: StoreError.notFound(kind: "user", id: stranger)) {
                try await store.insertRefreshToken(
                    RefreshTokenRecord(tokenHash: "orphan", userID: stranger, expiresAt: fromNow(3600)))
            }

            #expect(try await store.takeRefreshToken(hash: "live") == live)
            #expect(try await store.takeRefreshToken(hash: "live") == nil)
            #expect(try await store.takeRefreshToken(hash: "expired") == nil)
            #expect(try await store.takeRefreshToken(hash: "unknown") == nil)
            // The expired token was removed when presented: its hash is free again.
            try await store.insertRefreshToken(
                RefreshTokenRecord(tokenHash: "expired", userID: ada.id, expiresAt: fromNow(3600), createdAt: day(1)))
            #expect(try await store.takeRefreshToken(hash: "expired")?.createdAt == day(1))
        }
    }

    @Test("refresh tokens: of concurrent takes exactly one gets the token", arguments: StoreKind.allCases)
    func refreshTokenRace(kind: StoreKind) async throws {
        try await withAuthStore(kind) { store in
            let (ada, home) = Self.account("ada@example.com")
            try await store.createAccount(ada, organization: home, role: .owner)
            let token = RefreshTokenRecord(tokenHash: "contested", userID: ada.id, expiresAt: fromNow(3600))
            try await store.insertRefreshToken(token)
            let winners = try await withThrowingTaskGroup(of: Bool.self) { group in
                for _ in 0..<12 {
                    group.addTask { try await store.takeRefreshToken(hash: "contested") != nil }
                }
                return try await group.reduce(0) { $0 + ($1 ? 1 : 0) }
            }
            #expect(winners == 1)
        }
    }
}

/// What only the PostgreSQL auth store has: its own migration track, data that outlives the store
/// instance, and the cascades from users and organizations.
@Suite("PostgreSQL auth store", .timeLimit(.minutes(2)))
struct PostgresAuthStoreTests {
    private func makeStore(_ configuration: PostgresStore.Configuration) throws -> PostgresStore {
        try PostgresStore(configuration: configuration, logger: TestDatabase.logger)
    }

    private func strings(_ sql: String, on store: PostgresStore) async throws -> [String] {
        var rows: [String] = []
        for try await row in try await store.client.query(PostgresQuery(unsafeSQL: sql)).decode(String.self) {
            rows.append(row)
        }
        return rows
    }

    @Test("accounts, keys and tokens survive a restart on the same database; the auth track is applied once")
    func restart() async throws {
        try await TestDatabase.withDatabase { configuration in
            let (ada, home) = AuthStoreConformanceTests.account("ada@example.com")
            let key = APIKeyRecord(
                userID: ada.id, organizationID: home.id, name: "ci", keyHash: "hash-ci", keyPrefix: "keel_ci",
                createdAt: day(3))
            let token = RefreshTokenRecord(tokenHash: "refresh", userID: ada.id, expiresAt: fromNow(3600), createdAt: day(4))
            try await makeStore(configuration).withRunning { store in
                try await store.createAccount(ada, organization: home, role: .owner)
                try await store.insertAPIKey(key)
                try await store.insertRefreshToken(token)
            }
            try await makeStore(configuration).withRunning { store in
                let tracks = try await strings(
                    "SELECT module || ' ' || version FROM module_migrations ORDER BY module, version", on: store)
                #expect(tracks == ["auth 1", "storage 1", "storage 2", "storage 3", "storage 4"])
                #expect(try await store.user(email: "ADA@example.com") == ada)
                #expect(try await store.organization(id: home.id) == home)
                #expect(try await store.memberships(userID: ada.id).map(\.role) == [.owner])
                #expect(try await store.apiKey(hash: "hash-ci") == key)
                #expect(try await store.takeRefreshToken(hash: "refresh") == token)
            }
        }
    }

    @Test("deleting a user or an organization takes its memberships, keys and tokens with it")
    func cascades() async throws {
        try await TestDatabase.withDatabase { configuration in
            try await makeStore(configuration).withRunning { store in
                let (ada, home) = AuthStoreConformanceTests.account("ada@example.com")
                let (bob, bobHome) = AuthStoreConformanceTests.account("bob@example.com", at: 1)
                try await store.createAccount(ada, organization: home, role: .owner)
                try await store.createAccount(bob, organization: bobHome, role: .owner)
                try await store.upsertMembership(Membership(userID: bob.id, organizationID: home.id, role: .member))
                try await store.insertAPIKey(APIKeyRecord(
                    userID: bob.id, organizationID: home.id, name: "in home", keyHash: "h1", keyPrefix: "k1"))
                try await store.insertAPIKey(APIKeyRecord(
                    userID: bob.id, organizationID: bobHome.id, name: "in bob's", keyHash: "h2", keyPrefix: "k2"))
                try await store.insertRefreshToken(
                    RefreshTokenRecord(tokenHash: "ada-token", userID: ada.id, expiresAt: fromNow(3600)))

                try await store.client.query("DELETE FROM organizations WHERE id = \(home.id)")
                #expect(try await store.memberships(userID: bob.id).map(\.organizationID) == [bobHome.id])
                #expect(try await store.apiKey(hash: "h1") == nil)
                #expect(try await store.apiKey(hash: "h2") != nil)

                try await store.client.query("DELETE FROM users WHERE id = \(ada.id)")
                #expect(try await store.takeRefreshToken(hash: "ada-token") == nil)
                try await store.client.query("DELETE FROM users WHERE id = \(bob.id)")
                #expect(try await store.apiKey(hash: "h2") == nil)
                #expect(try await store.members(organizationID: bobHome.id).isEmpty)
            }
        }
    }

    @Test("an expired refresh token is deleted when presented")
    func expiredTokenDeleted() async throws {
        try await TestDatabase.withDatabase { configuration in
            try await makeStore(configuration).withRunning { store in
                let (ada, home) = AuthStoreConformanceTests.account("ada@example.com")
                try await store.createAccount(ada, organization: home, role: .owner)
                try await store.insertRefreshToken(
                    RefreshTokenRecord(tokenHash: "stale", userID: ada.id, expiresAt: fromNow(-1)))
                #expect(try await strings("SELECT token_hash FROM refresh_tokens", on: store) == ["stale"])
                #expect(try await store.takeRefreshToken(hash: "stale") == nil)
                #expect(try await strings("SELECT token_hash FROM refresh_tokens", on: store).isEmpty)
            }
        }
    }
}
