import Foundation
import KeelCore
import KeelServices

/// A thread: its id as the API shows it, its session, and its stored Agent Protocol fields.
public struct ThreadRef: Sendable {
    public var id: String
    public var session: Session
    public var data: ThreadData
    public var createdAt: Date
    public var updatedAt: Date
    /// Whether a `ProtocolRecord` holds `data` (a session made through `/v1/sessions` has none yet).
    var stored: Bool
}

extension AgentProtocolService {
    static let maxSearchScan = 10_000

    /// The thread with this id: a thread's own id, or the id of any session of the organization.
    public func thread(_ id: String, organizationID: String) async throws -> ThreadRef {
        if let record = try await records.record(.thread, id: id, organizationID: organizationID),
            let sessionID = record.sessionID,
            let session = try await store.session(id: sessionID, organizationID: organizationID)
        {
            return ThreadRef(
                id: record.id, session: session, data: try record.decoded(ThreadData.self), createdAt: record.createdAt,
                updatedAt: record.updatedAt, stored: true)
        }
        if PublicID.isValid(id, prefix: .session),
            let session = try await store.session(id: id, organizationID: organizationID)
        {
            return try await threadRef(for: session)
        }
        throw AgentProtocolError.notFound(kind: "thread", id: id)
    }

    func threadRef(for session: Session) async throws -> ThreadRef {
        if let record = try await records.records(.thread, organizationID: session.organizationID, sessionID: session.id).first {
            return ThreadRef(
                id: record.id, session: session, data: try record.decoded(ThreadData.self), createdAt: record.createdAt,
                updatedAt: record.updatedAt, stored: true)
        }
        return ThreadRef(
            id: session.id, session: session, data: ThreadData(metadata: [:]), createdAt: session.createdAt,
            updatedAt: session.updatedAt, stored: false)
    }

    public func createThread(_ body: JSONValue, organizationID: String) async throws -> ThreadRef {
        let request = try ProtocolBody(body, name: "thread")
        let metadata = try request.object("metadata") ?? [:]
        let ifExists = try request.choice("if_exists", ["raise", "do_nothing"], default: "raise")
        let id = try request.string("thread_id", maxBytes: ProtocolIDs.maxLength)
        if let id {
            try ProtocolIDs.validate(id, field: "thread_id")
            if let existing = try? await thread(id, organizationID: organizationID) {
                guard ifExists == "do_nothing" else { throw AgentProtocolError.conflict("Thread '\(id)' already exists") }
                return existing
            }
        }
        return try await newThread(id: id, metadata: metadata, ephemeral: false, organizationID: organizationID)
    }

    /// A session with its thread record; the thread's id is the client's or the session's.
    func newThread(id: String?, metadata: JSONValue, ephemeral: Bool, organizationID: String) async throws -> ThreadRef {
        let session = try await services.sessions.create(SessionInput(), organizationID: organizationID)
        let data = ThreadData(metadata: metadata, ephemeral: ephemeral ? true : nil)
        let record = ProtocolRecord(
            kind: .thread, id: id ?? session.id, organizationID: organizationID, sessionID: session.id,
            data: .encoding(data))
        do {
            try await records.insertRecord(record)
        } catch StoreError.conflict {
            try await services.sessions.delete(session)
            throw AgentProtocolError.conflict("Thread '\(record.id)' already exists")
        }
        return ThreadRef(
            id: record.id, session: session, data: data, createdAt: record.createdAt, updatedAt: record.updatedAt,
            stored: true)
    }

    /// Changes the thread's record (created for a session that has none yet).
    @discardableResult
    func updateThread(_ thread: ThreadRef, _ change: @escaping @Sendable (inout ThreadData) throws -> Void) async throws
        -> ThreadRef
    {
        var updated = thread
        if thread.stored {
            let record = try await records.updateRecord(.thread, id: thread.id, organizationID: thread.session.organizationID) {
                record in
                var data = (try? record.decoded(ThreadData.self)) ?? ThreadData(metadata: [:])
                try change(&data)
                record.data = .encoding(data)
            }
            updated.data = try record.decoded(ThreadData.self)
            updated.updatedAt = record.updatedAt
        } else {
            try change(&updated.data)
            let record = ProtocolRecord(
                kind: .thread, id: thread.id, organizationID: thread.session.organizationID, sessionID: thread.session.id,
                data: .encoding(updated.data))
            try await records.insertRecord(record)
            updated.stored = true
            updated.updatedAt = record.updatedAt
        }
        return updated
    }

    public func patchThread(_ id: String, _ body: JSONValue, organizationID: String) async throws -> ThreadRef {
        let request = try ProtocolBody(body, name: "thread")
        let metadata = try request.object("metadata") ?? [:]
        let thread = try await thread(id, organizationID: organizationID)
        return try await updateThread(thread) { $0.metadata = try Self.patchedMetadata($0.metadata, metadata) }
    }

    /// Cancels the thread's run, deletes its session, events and records.
    public func deleteThread(_ id: String, organizationID: String) async throws {
        let thread = try await thread(id, organizationID: organizationID)
        try await deleteThread(thread)
    }

    func deleteThread(_ thread: ThreadRef) async throws {
        try await services.sessions.delete(thread.session)
        try await records.deleteRecords(sessionID: thread.session.id, organizationID: thread.session.organizationID)
    }

    /// A new thread with a copy of this one's conversation and metadata.
    public func copyThread(_ id: String, organizationID: String) async throws -> ThreadRef {
        let source = try await thread(id, organizationID: organizationID)
        let copy = try await newThread(id: nil, metadata: source.data.metadata, ephemeral: false, organizationID: organizationID)
        if let agentID = source.session.agentID {
            _ = try await store.updateSession(id: copy.session.id, organizationID: organizationID) { $0.agentID = agentID }
        }
        let kept = MessageProjection.sourceTypes.union([EventType.turnStarted]).union(EventType.terminal)
        for event in try await allEvents(sessionID: source.session.id, organizationID: organizationID)
        where kept.contains(event.type) {
            _ = try await store.appendEvent(
                sessionID: copy.session.id, organizationID: organizationID,
                EventDraft(type: event.type, context: event.context, data: event.data))
        }
        return try await thread(copy.id, organizationID: organizationID)
    }

    /// The thread as the API shows it; `values` and `interrupts` only when `withState`.
    /// The thread's status without reading its whole log: the session and its last turn end.
    func threadStatus(_ session: Session) async throws -> ThreadStatus {
        let lastEnd = try await store.events(
            sessionID: session.id, organizationID: session.organizationID,
            EventQuery(types: EventType.terminal, limit: 1, lastN: true)
        ).last
        return ThreadSnapshot.status(of: session, lastEnd: lastEnd?.type)
    }

    public func threadJSON(_ thread: ThreadRef, withState: Bool = true) async throws -> JSONValue {
        var object: [String: JSONValue] = [
            "thread_id": .string(thread.id), "created_at": ProtocolTime.string(thread.createdAt),
            "updated_at": ProtocolTime.string(max(thread.updatedAt, thread.session.updatedAt)),
            "metadata": thread.data.metadata, "config": [:],
        ]
        guard withState else {
            object["status"] = .string(try await threadStatus(thread.session).rawValue)
            return .object(object)
        }
        let events = try await allEvents(sessionID: thread.session.id, organizationID: thread.session.organizationID)
        let snapshot = ThreadSnapshot(session: thread.session, events: events[...], failures: failures, current: true)
        object["status"] = .string(snapshot.status.rawValue)
        object["values"] = snapshot.values
        object["interrupts"] =
            snapshot.interrupts.isEmpty
            ? [:] : .object([snapshot.interrupts[0]["id"]?.stringValue ?? thread.id: .array(snapshot.interrupts)])
        return .object(object)
    }

    /// The thread's state now, or at a checkpoint (an event id from a state's `checkpoint_id`).
    public func threadState(_ id: String, checkpointID: String? = nil, organizationID: String) async throws -> JSONValue {
        let thread = try await thread(id, organizationID: organizationID)
        let events = try await allEvents(sessionID: thread.session.id, organizationID: organizationID)
        var end = events.endIndex
        if let checkpointID, checkpointID != events.last?.id {
            guard let index = events.firstIndex(where: { $0.id == checkpointID }) else {
                throw AgentProtocolError.notFound(kind: "checkpoint", id: checkpointID)
            }
            end = index + 1
        }
        return ThreadSnapshot(
            session: thread.session, events: events[..<end], failures: failures, current: end == events.endIndex
        ).stateJSON(threadID: thread.id, metadata: thread.data.metadata, createdAt: thread.createdAt)
    }

    /// States after each turn's start and end, newest first; `before` a checkpoint id continues a page.
    public func threadHistory(_ id: String, limit: Int, before: String?, organizationID: String) async throws -> [JSONValue] {
        let thread = try await thread(id, organizationID: organizationID)
        let events = try await allEvents(sessionID: thread.session.id, organizationID: organizationID)
        var ends: [Int] = []
        for (index, event) in events.enumerated()
        where event.type == EventType.turnStarted || EventType.terminal.contains(event.type)
            || Interrupts.waitTypes.contains(event.type)
        {
            ends.append(index)
        }
        if let last = events.indices.last, ends.last != last { ends.append(last) }
        var states: [JSONValue] = []
        var skipping = before != nil
        for end in ends.reversed() {
            if skipping {
                if events[end].id == before { skipping = false }
                continue
            }
            let snapshot = ThreadSnapshot(
                session: thread.session, events: events[...end], failures: failures, current: end == events.indices.last)
            states.append(snapshot.stateJSON(threadID: thread.id, metadata: thread.data.metadata, createdAt: thread.createdAt))
            if states.count == limit { break }
        }
        return states
    }

    /// Threads matching `metadata` (containment), `status` and `ids`, newest first by default.
    public func searchThreads(_ body: JSONValue, organizationID: String) async throws -> (page: [JSONValue], total: Int) {
        let request = try ProtocolBody(body, name: "search")
        let metadata = try request.object("metadata")
        let status = try request.present("status").map { _ in
            try request.choice("status", ThreadStatus.allCases.map(\.rawValue), default: "idle")
        }
        let ids = try request.stringList("ids", maxCount: 1000).map(Set.init)
        let limit = try request.integer("limit", default: 10, range: 1...1000)
        let offset = try request.integer("offset", default: 0, range: 0...Int(Int32.max))
        let sortBy = try request.choice("sort_by", ["thread_id", "status", "created_at", "updated_at"], default: "created_at")
        let descending = try request.choice("sort_order", ["asc", "desc"], default: "desc") == "desc"
        let select = try request.stringList("select", maxCount: 32).map(Set.init)

        let stored = try await records.records(.thread, organizationID: organizationID, sessionID: nil)
        var recordBySession: [String: ProtocolRecord] = [:]
        for record in stored { if let sessionID = record.sessionID { recordBySession[sessionID] = record } }
        let sessions = try await store.listSessions(
            organizationID: organizationID, agentID: nil, search: nil, offset: 0, limit: Self.maxSearchScan)
        // Filters first, on what is at hand; the status (one small read) only when asked for; the
        // full thread (its whole log) only for the page.
        var matching: [(thread: ThreadRef, status: ThreadStatus?)] = []
        for session in sessions.items {
            let record = recordBySession[session.id]
            let data = (try? record?.decoded(ThreadData.self)) ?? ThreadData(metadata: [:])
            if data.ephemeral == true { continue }
            let ref = ThreadRef(
                id: record?.id ?? session.id, session: session, data: data, createdAt: record?.createdAt ?? session.createdAt,
                updatedAt: record?.updatedAt ?? session.updatedAt, stored: record != nil)
            if let ids, !ids.contains(ref.id) { continue }
            if let metadata, !Self.contains(data.metadata, metadata) { continue }
            var current: ThreadStatus?
            if status != nil || sortBy == "status" {
                current = try await threadStatus(session)
                if let status, current?.rawValue != status { continue }
            }
            matching.append((ref, current))
        }
        func less(_ lhs: (thread: ThreadRef, status: ThreadStatus?), _ rhs: (thread: ThreadRef, status: ThreadStatus?)) -> Bool {
            switch sortBy {
            case "thread_id": lhs.thread.id < rhs.thread.id
            case "status": (lhs.status?.rawValue ?? "") < (rhs.status?.rawValue ?? "")
            case "updated_at": lhs.thread.updatedAt < rhs.thread.updatedAt
            default: lhs.thread.createdAt < rhs.thread.createdAt
            }
        }
        let sorted = matching.sorted { descending ? less($1, $0) : less($0, $1) }
        var page: [JSONValue] = []
        for entry in sorted.dropFirst(offset).prefix(limit) {
            let json = try await threadJSON(entry.thread, withState: select == nil || select?.contains("values") == true)
            guard let select, let object = json.objectValue else {
                page.append(json)
                continue
            }
            page.append(.object(object.filter { select.contains($0.key) }))
        }
        return (page, matching.count)
    }
}
