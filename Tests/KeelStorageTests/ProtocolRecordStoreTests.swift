import Foundation
import KeelCore
import KeelStorage
import Testing

/// Runs `body` against a fresh record store of the given kind and the session store beside it
/// (on PostgreSQL the same store: a thread's and a run's records reference a session row).
func withRecordStore<Result: Sendable>(
    _ kind: StoreKind, _ body: (any ProtocolRecordStore, any KeelStore) async throws -> Result
) async throws -> Result {
    switch kind {
    case .inMemory:
        return try await body(InMemoryProtocolRecordStore(), InMemoryStore())
    case .postgres:
        return try await TestDatabase.withDatabase { configuration in
            let store = try PostgresStore(configuration: configuration, logger: TestDatabase.logger)
            return try await store.withRunning { try await body($0, $0) }
        }
    }
}

/// The `ProtocolRecordStore` contract (the Agent Protocol's assistants, threads and runs), run
/// identically against every implementation.
@Suite("Protocol record store conformance", .timeLimit(.minutes(2)))
struct ProtocolRecordStoreTests {
    static let orgA = BuiltIn.organizationID
    static let orgB = "org_0000000000000000000000000000000b"

    static func at(_ seconds: Int) -> Date { Date(timeIntervalSince1970: 1_700_000_000 + Double(seconds) + 0.125) }

    @Test("insert, read back, conflicts per organization, update, delete", arguments: StoreKind.allCases)
    func lifecycle(kind: StoreKind) async throws {
        try await withRecordStore(kind) { records, store in
            let session = Session(organizationID: Self.orgA)
            try await store.insertSession(session)
            let data: JSONValue = ["metadata": ["user": "u1", "n": 3, "flag": true], "nested": [["a": [1, 2]]]]
            let thread = ProtocolRecord(
                kind: .thread, id: "t-1", organizationID: Self.orgA, sessionID: session.id, data: data, now: Self.at(0))
            try await records.insertRecord(thread)
            #expect(try await records.record(.thread, id: "t-1", organizationID: Self.orgA) == thread, "round trip, to the ms")

            await #expect(throws: StoreError.conflict("thread t-1 already exists")) {
                try await records.insertRecord(thread)
            }
            // The same id: another kind, or another organization, is another record.
            let assistant = ProtocolRecord(kind: .assistant, id: "t-1", organizationID: Self.orgA, data: ["x": 1], now: Self.at(1))
            try await records.insertRecord(assistant)
            let foreign = ProtocolRecord(kind: .assistant, id: "t-1", organizationID: Self.orgB, data: ["x": 2], now: Self.at(2))
            try await records.insertRecord(foreign)
            #expect(try await records.record(.assistant, id: "t-1", organizationID: Self.orgB)?.data == ["x": 2])
            #expect(try await records.record(.thread, id: "t-1", organizationID: Self.orgB) == nil, "B cannot read A's thread")
            #expect(try await records.records(.thread, organizationID: Self.orgB, sessionID: session.id).isEmpty)

            let updated = try await records.updateRecord(.thread, id: "t-1", organizationID: Self.orgA) { record in
                record.data = ["metadata": ["user": "u2"]]
                record.id = "hijacked"
                record.organizationID = Self.orgB
                record.sessionID = nil
            }
            #expect(updated.id == "t-1" && updated.organizationID == Self.orgA && updated.sessionID == session.id)
            #expect(updated.data == ["metadata": ["user": "u2"]] && updated.createdAt == thread.createdAt)
            #expect(updated.updatedAt > thread.updatedAt)
            #expect(try await records.record(.thread, id: "t-1", organizationID: Self.orgA) == updated)
            await #expect(throws: StoreError.notFound(kind: "thread", id: "t-1")) {
                try await records.updateRecord(.thread, id: "t-1", organizationID: Self.orgB) { $0.data = ["owned": true] }
            }
            await #expect(throws: StoreError.notFound(kind: "run", id: "missing")) {
                try await records.updateRecord(.run, id: "missing", organizationID: Self.orgA) { _ in }
            }
            await #expect(throws: Refused()) {
                try await records.updateRecord(.thread, id: "t-1", organizationID: Self.orgA) { record in
                    record.data = ["half": "done"]
                    throw Refused()
                }
            }
            #expect(try await records.record(.thread, id: "t-1", organizationID: Self.orgA) == updated, "a throwing change writes nothing")

            #expect(try await records.deleteRecord(.thread, id: "t-1", organizationID: Self.orgB) == false)
            #expect(try await records.deleteRecord(.thread, id: "t-1", organizationID: Self.orgA))
            #expect(try await records.deleteRecord(.thread, id: "t-1", organizationID: Self.orgA) == false)
            #expect(try await records.record(.assistant, id: "t-1", organizationID: Self.orgA) == assistant)
        }
    }

    @Test("records of a session: listed oldest first, removed with the session's deletion", arguments: StoreKind.allCases)
    func bySession(kind: StoreKind) async throws {
        try await withRecordStore(kind) { records, store in
            let one = Session(organizationID: Self.orgA)
            let two = Session(organizationID: Self.orgA)
            try await store.insertSession(one)
            try await store.insertSession(two)
            for (index, (id, session)) in [("r3", one), ("r1", one), ("r2", two)].enumerated() {
                try await records.insertRecord(ProtocolRecord(
                    kind: .run, id: id, organizationID: Self.orgA, sessionID: session.id, data: ["i": .init(index)],
                    now: Self.at(index)))
            }
            try await records.insertRecord(ProtocolRecord(
                kind: .thread, id: "thread-one", organizationID: Self.orgA, sessionID: one.id, data: [:], now: Self.at(9)))
            let assistant = ProtocolRecord(kind: .assistant, id: "a-1", organizationID: Self.orgA, data: [:], now: Self.at(10))
            try await records.insertRecord(assistant)
            #expect(try await records.records(.run, organizationID: Self.orgA, sessionID: one.id).map(\.id) == ["r3", "r1"])
            #expect(try await records.records(.run, organizationID: Self.orgA, sessionID: nil).map(\.id) == ["r3", "r1", "r2"])
            #expect(try await records.records(.run, organizationID: Self.orgB, sessionID: nil).isEmpty)

            try await records.deleteRecords(sessionID: one.id, organizationID: Self.orgB)
            #expect(try await records.records(.run, organizationID: Self.orgA, sessionID: one.id).count == 2, "B cannot delete A's")
            try await records.deleteRecords(sessionID: one.id, organizationID: Self.orgA)
            #expect(try await records.records(.run, organizationID: Self.orgA, sessionID: nil).map(\.id) == ["r2"])
            #expect(try await records.record(.thread, id: "thread-one", organizationID: Self.orgA) == nil)
            // On PostgreSQL deleting the session itself takes its records along (the foreign key);
            // the in-memory records are a store of their own, emptied by `deleteRecords`.
            try await store.deleteSession(id: two.id, organizationID: Self.orgA)
            if kind == .postgres {
                #expect(try await records.records(.run, organizationID: Self.orgA, sessionID: nil).isEmpty, "cascade")
            }
            try await records.deleteRecords(sessionID: two.id, organizationID: Self.orgA)
            #expect(try await records.records(.run, organizationID: Self.orgA, sessionID: nil).isEmpty)
            #expect(try await records.records(.assistant, organizationID: Self.orgA, sessionID: nil) == [assistant])
        }
    }
}
