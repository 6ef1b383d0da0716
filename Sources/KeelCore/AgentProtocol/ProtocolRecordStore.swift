import Foundation

/// What the Agent Protocol API keeps beside the engine's own rows: an assistant's graph id,
/// config and metadata (its agent is an ordinary `Agent`), a thread's client-chosen id and
/// metadata (its conversation is an ordinary `Session`), a run's request (its execution is an
/// ordinary turn). The record's `data` is the API layer's JSON; the store only keys it.
public enum ProtocolRecordKind: String, Codable, Sendable, CaseIterable {
    case assistant, thread, run
}

public struct ProtocolRecord: Codable, Sendable, Hashable {
    public var kind: ProtocolRecordKind
    /// The id the API shows (`assistant_id`, `thread_id`, `run_id`); unique per kind in an organization.
    public var id: String
    public var organizationID: String
    /// The session a thread or run belongs to; nil for assistants.
    public var sessionID: String?
    public var data: JSONValue
    public var createdAt: Date
    public var updatedAt: Date

    public init(
        kind: ProtocolRecordKind, id: String, organizationID: String, sessionID: String? = nil, data: JSONValue,
        now: Date = Date()
    ) {
        self.kind = kind
        self.id = id
        self.organizationID = organizationID
        self.sessionID = sessionID
        self.data = data
        self.createdAt = now
        self.updatedAt = now
    }
}

/// Persistence for `ProtocolRecord`s (in memory for DEV_MODE, PostgreSQL otherwise).
///
/// Like `KeelStore`, every call names the caller's organization, and a record of another
/// organization behaves as if it did not exist. An id already taken throws
/// `StoreError.conflict`; a missing record on update throws `StoreError.notFound`.
public protocol ProtocolRecordStore: Sendable {
    func insertRecord(_ record: ProtocolRecord) async throws
    func record(_ kind: ProtocolRecordKind, id: String, organizationID: String) async throws -> ProtocolRecord?
    /// The organization's records of a kind, oldest first; only the session's when `sessionID` is given.
    func records(_ kind: ProtocolRecordKind, organizationID: String, sessionID: String?) async throws -> [ProtocolRecord]
    /// Applies `change` atomically and sets `updatedAt`; kind, id, organization and session stay.
    @discardableResult
    func updateRecord(
        _ kind: ProtocolRecordKind, id: String, organizationID: String,
        _ change: @Sendable (inout ProtocolRecord) throws -> Void
    ) async throws -> ProtocolRecord
    /// False when there was no such record.
    func deleteRecord(_ kind: ProtocolRecordKind, id: String, organizationID: String) async throws -> Bool
    /// Removes every record of the session (its thread and runs) when the session is deleted.
    func deleteRecords(sessionID: String, organizationID: String) async throws
}
