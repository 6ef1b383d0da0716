import Foundation
import KeelCore
import KeelEngine
import KeelStorage
import Logging
import Testing

/// Every organization gets its own built-in providers (sign-up provisions them): ids distinct
/// across organizations and stable for each, the default organization keeping its fixed ids, and
/// provisioning safe to repeat — on both stores.
@Suite("Built-in providers per organization")
struct BuiltInProvisioningTests {
    static let fixedIDs: Set<String> = [
        "provider_00000000000000000000000000000001", "provider_00000000000000000000000000000002",
        "provider_00000000000000000000000000000003", "provider_00000000000000000000000000000004",
    ]

    @Test("in memory: disjoint ids per organization, idempotent, fixed ids for the default organization")
    func inMemory() async throws {
        try await checkProvisioning(InMemoryStore())
    }

    @Test("PostgreSQL: disjoint ids per organization, idempotent, fixed ids for the default organization")
    func postgres() async throws {
        try await PostgresPersistenceTests.withDatabase { url in
            try await PostgresStore(url: url, maxConnections: 4, logger: Logger(label: "test")).withRunning { store in
                try await checkProvisioning(store)
            }
        }
    }

    private func checkProvisioning(_ store: any KeelStore) async throws {
        let first = PublicID.make(.org)
        let second = PublicID.make(.org)
        #expect(try await BuiltInProviders.provision(organizationID: first, in: store).count == 4)
        #expect(try await BuiltInProviders.provision(organizationID: second, in: store).count == 4)
        let firstProviders = try await store.listProviders(organizationID: first)
        let firstIDs = Set(firstProviders.map(\.id))
        let secondIDs = Set(try await store.listProviders(organizationID: second).map(\.id))
        #expect(firstIDs.count == 4 && secondIDs.count == 4)
        #expect(firstIDs.isDisjoint(with: secondIDs))
        #expect(firstIDs.isDisjoint(with: Self.fixedIDs) && secondIDs.isDisjoint(with: Self.fixedIDs))
        #expect(firstIDs.union(secondIDs).allSatisfy { PublicID.isValid($0, prefix: .provider) })
        #expect(firstProviders.allSatisfy { $0.isBuiltIn && $0.organizationID == first })
        // The same organization always derives the same ids.
        #expect(Set(BuiltInProviders.make(organizationID: first).map(\.id)) == firstIDs)

        // Again: nothing is added and nothing changes.
        #expect(try await BuiltInProviders.provision(organizationID: first, in: store).isEmpty)
        #expect(try await store.listProviders(organizationID: first) == firstProviders)

        // Two sign-ups racing for one organization store each built-in once.
        let third = PublicID.make(.org)
        async let one = BuiltInProviders.provision(organizationID: third, in: store)
        async let other = BuiltInProviders.provision(organizationID: third, in: store)
        let (racedOne, racedOther) = try await (one, other)
        #expect(racedOne.count + racedOther.count == 4)
        #expect(try await store.listProviders(organizationID: third).count == 4)

        // The default organization keeps the ids it always had.
        #expect(try await BuiltInProviders.provision(organizationID: BuiltIn.organizationID, in: store).count == 4)
        #expect(Set(try await store.listProviders(organizationID: BuiltIn.organizationID).map(\.id)) == Self.fixedIDs)
    }

    @Test("an id already held by another organization's row is an error, never silently skipped")
    func foreignIDIsAConflict() async throws {
        let store = InMemoryStore()
        let target = PublicID.make(.org)
        var squatter = try #require(BuiltInProviders.make(organizationID: target).first)
        squatter.organizationID = PublicID.make(.org)
        try await store.insertProvider(squatter)
        await #expect(throws: StoreError.self) {
            try await BuiltInProviders.provision(organizationID: target, in: store)
        }
        #expect(try await store.provider(id: squatter.id, organizationID: target) == nil)
    }
}
