import Foundation
import KeelCore
import Synchronization

/// `ProtocolRecordStore` for DEV_MODE: the Agent Protocol's assistants, threads and runs in one
/// dictionary behind a mutex, lost when the process stops. Each call holds the lock throughout, so
/// checks and writes (and an update's closure) are atomic.
public final class InMemoryProtocolRecordStore: ProtocolRecordStore {
    /// What identifies a record: its kind and id are unique within its organization.
    private struct Key: Hashable {
        var organizationID: String
        var kind: ProtocolRecordKind
        var id: String
    }

    private let stored = Mutex<[Key: ProtocolRecord]>([:])

    public init() {}

    public func insertRecord(_ record: ProtocolRecord) throws {
        let key = Key(organizationID: record.organizationID, kind: record.kind, id: record.id)
        try stored.withLock { records in
            guard records[key] == nil else { throw Self.recordConflict(record.kind, record.id) }
            records[key] = record
        }
    }

    public func record(_ kind: ProtocolRecordKind, id: String, organizationID: String) -> ProtocolRecord? {
        stored.withLock { $0[Key(organizationID: organizationID, kind: kind, id: id)] }
    }

    public func records(_ kind: ProtocolRecordKind, organizationID: String, sessionID: String?) -> [ProtocolRecord] {
        stored.withLock { records in
            records.values
                .filter { record in
                    record.organizationID == organizationID && record.kind == kind
                        && (sessionID == nil || record.sessionID == sessionID)
                }
                .sorted { ($0.createdAt, $0.id) < ($1.createdAt, $1.id) }
        }
    }

    @discardableResult
    public func updateRecord(
        _ kind: ProtocolRecordKind, id: String, organizationID: String,
        _ change: @Sendable (inout ProtocolRecord) throws -> Void
    ) throws -> ProtocolRecord {
        let key = Key(organizationID: organizationID, kind: kind, id: id)
        return try stored.withLock { records in
            guard let original = records[key] else { throw Self.recordNotFound(kind, id) }
            var record = original
            try change(&record)
            record.keepIdentity(of: original)
            records[key] = record
            return record
        }
    }

    public func deleteRecord(_ kind: ProtocolRecordKind, id: String, organizationID: String) -> Bool {
        stored.withLock { $0.removeValue(forKey: Key(organizationID: organizationID, kind: kind, id: id)) != nil }
    }

    public func deleteRecords(sessionID: String, organizationID: String) {
        stored.withLock { records in
            records = records.filter { _, record in
                !(record.organizationID == organizationID && record.sessionID == sessionID)
            }
        }
    }
}

/// What both stores say and do the same way.
extension ProtocolRecordStore {
    static func recordConflict(_ kind: ProtocolRecordKind, _ id: String) -> StoreError {
        .conflict("\(kind.rawValue) \(id) already exists")
    }

    static func recordNotFound(_ kind: ProtocolRecordKind, _ id: String) -> StoreError {
        .notFound(kind: kind.rawValue, id: id)
    }
}

extension ProtocolRecord {
    /// After an update's closure: kind, id, organization, session and creation time are the row's identity, not
    /// something a change can move; `updatedAt` is now.
    mutating func keepIdentity(of original: ProtocolRecord, now: Date = Date()) {
        kind = original.kind
        id = original.id
        organizationID = original.organizationID
        sessionID = original.sessionID
        createdAt = original.createdAt
        updatedAt = now
    }
}
