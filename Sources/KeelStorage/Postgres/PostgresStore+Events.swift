import Foundation
import KeelCore
import PostgresNIO

/// The append-only event log: gapless per-session sequences allocated in the appending statement.
/// Events have no organization of their own: every statement reaches them through their session's
/// row, checked against the caller's organization.
extension PostgresStore {
    /// One statement: the sequence upsert and the insert commit together, so sequences have no gaps
    /// (a failed insert rolls the allocation back) and concurrent appends serialise on the
    /// `event_sequences` row. The sequence is allocated only from the session's row in the
    /// organization, so a session of another organization appends nothing, like a missing one
    /// (a session deleted meanwhile fails the foreign key): `StoreError.notFound`.
    public func appendEvent(sessionID: String, organizationID: String, _ draft: EventDraft) async throws -> Event {
        let events = try await withPooledConnection {
            try await appendEvents(sessionID: sessionID, organizationID: organizationID, [draft], on: $0)
        }
        eventSignals.notifyAppended(sessionID: sessionID, events: events)
        guard let event = events.first else { throw StoreError.notFound(kind: "session", id: sessionID) }
        return event
    }

    /// Appends events in one statement, in order, on `connection` (inside the caller's transaction,
    /// if any): the sequence row advances by their count once, and the rows take the sequences
    /// after its previous value, so they stay gapless and ordered exactly as one append each would
    /// leave them. Local readers are not woken: call `eventSignals` after the commit.
    package func appendEvents(
        sessionID: String, organizationID: String, _ drafts: [EventDraft], on connection: PostgresConnection
    ) async throws -> [Event] {
        if drafts.isEmpty { return [] }
        let rows = try drafts.map { try EventRow($0, sessionID: sessionID) }
        let count = rows.count
        // Nullable columns travel as '' (never valid JSON, so never a real value).
        let metadata = rows.map { $0.metadata ?? "" }
        let tags = rows.map { row in row.event.tags.map { JSONValue.array($0.map(JSONValue.string)).jsonString } ?? "" }
        var last = 0
        do {
            let result = try await connection.query(
                """
                WITH allocated AS (
                    INSERT INTO event_sequences AS s (session_id, last_sequence)
                    SELECT id, \(count) FROM sessions WHERE id = \(sessionID) AND organization_id = \(organizationID)
                    ON CONFLICT (session_id) DO UPDATE SET last_sequence = s.last_sequence + \(count)
                    RETURNING last_sequence
                )
                INSERT INTO events (id, session_id, sequence, type, ts, context, data, metadata, tags)
                SELECT r.id, \(sessionID), allocated.last_sequence - \(count) + r.position, r.type, r.ts, r.context::jsonb,
                       r.data::jsonb, NULLIF(r.metadata, '')::jsonb,
                       CASE WHEN r.tags = '' THEN NULL ELSE ARRAY(SELECT jsonb_array_elements_text(r.tags::jsonb)) END
                FROM allocated,
                     unnest(\(rows.map(\.event.id))::text[], \(rows.map(\.event.type.rawValue))::text[],
                            \(rows.map(\.event.ts))::timestamptz[], \(rows.map(\.context))::text[], \(rows.map(\.data))::text[],
                            \(metadata)::text[], \(tags)::text[])
                         WITH ORDINALITY AS r(id, type, ts, context, data, metadata, tags, position)
                RETURNING sequence
                """, logger: logger)
            for try await sequence in result.decode(Int.self) { last = max(last, sequence) }
        } catch where Self.sqlState(error) == "23503" {
            throw StoreError.notFound(kind: "session", id: sessionID)
        } catch where Self.sqlState(error) == "23505" {
            throw StoreError.conflict("event \(rows.map(\.event.id).joined(separator: " or ")) already exists")
        }
        guard last > 0 else { throw StoreError.notFound(kind: "session", id: sessionID) }
        return rows.enumerated().map { offset, row in
            var event = row.event
            event.sequence = last - count + 1 + offset
            return event
        }
    }

    /// Appends only while the durable task `taskID` of this session is claimed by `holder`, in one statement: the
    /// task row is share-locked by the same statement that allocates the sequence and inserts, so
    /// a cancel or reclaim (which update that row) orders strictly before or after the append.
    /// Returns nil, appending nothing, when the lease is not held. Local readers are not woken.
    package func appendEvent(sessionID: String, _ draft: EventDraft, leasedBy taskID: String, holder: String)
        async throws -> Event?
    {
        let row = try EventRow(draft, sessionID: sessionID)
        return try await withPooledConnection { connection in
            try await insert(
                row,
                """
                WITH lease AS (
                    SELECT 1 FROM durable_tasks
                    WHERE id = \(taskID) AND claimed_by = \(holder) AND status = 'claimed'
                      AND session_id = \(sessionID)
                    FOR SHARE
                ), allocated AS (
                    INSERT INTO event_sequences AS s (session_id, last_sequence) SELECT \(sessionID), 1 FROM lease
                    ON CONFLICT (session_id) DO UPDATE SET last_sequence = s.last_sequence + 1
                    RETURNING last_sequence
                )
                INSERT INTO events (id, session_id, sequence, type, ts, context, data, metadata, tags)
                SELECT \(row.event.id), \(sessionID), last_sequence, \(row.event.type.rawValue), \(row.event.ts),
                       \(row.context)::jsonb, \(row.data)::jsonb, \(row.metadata)::jsonb, \(row.event.tags)::text[]
                FROM allocated
                RETURNING sequence
                """, on: connection)
        }
    }

    /// Runs an append statement; nil when it inserted nothing.
    private func insert(_ row: EventRow, _ query: PostgresQuery, on connection: PostgresConnection) async throws -> Event? {
        var event = row.event
        do {
            let rows = try await connection.query(query, logger: logger)
            for try await sequence in rows.decode(Int.self) { event.sequence = sequence }
        } catch where Self.sqlState(error) == "23503" {
            throw StoreError.notFound(kind: "session", id: event.sessionID)
        } catch where Self.sqlState(error) == "23505" {
            throw StoreError.conflict("event \(event.id) already exists")
        }
        return event.sequence > 0 ? event : nil
    }

    /// An event as it will be stored: the JSON columns, and the event as a later read returns it
    /// (only a replaced U+0000, see encodeForJSONB, can make that differ from the draft).
    private struct EventRow {
        var event: Event
        var context: String
        var data: String
        var metadata: String?

        init(_ draft: EventDraft, sessionID: String) throws {
            event = Event(
                type: draft.type, ts: PostgresStore.normalise(Date()), sessionID: sessionID, sequence: 0,
                context: draft.context, data: draft.data, metadata: draft.metadata, tags: draft.tags)
            let (context, contextReplaced) = PostgresStore.encodeForJSONB(event.context)
            if contextReplaced { event.context = try PostgresStore.decode(EventContext.self, context) }
            let (data, dataReplaced) = PostgresStore.encodeForJSONB(event.data)
            if dataReplaced { event.data = try PostgresStore.decode(JSONValue.self, data) }
            self.context = context
            self.data = data
            if let value = event.metadata {
                let (json, replaced) = PostgresStore.encodeForJSONB(value)
                if replaced { event.metadata = try PostgresStore.decode(JSONValue.self, json) }
                metadata = json
            }
        }
    }

    /// The session's ownership check does not depend on the event rows, so it runs once per read.
    public func events(sessionID: String, organizationID: String, _ query: EventQuery) async throws -> [Event] {
        try await schemaReady.wait()
        var binds = PostgresBindings()
        binds.append(sessionID)
        binds.append(query.afterSequence)
        binds.append(query.types.map { $0.map(\.rawValue) })
        binds.append(query.excluded.map(\.rawValue))
        binds.append(organizationID)
        let select = """
            SELECT \(Self.eventColumns) FROM events
            WHERE session_id = $1 AND sequence > $2
              AND ($3::text[] IS NULL OR type = ANY($3::text[]))
              AND NOT (type = ANY($4::text[]))
              AND EXISTS (SELECT 1 FROM sessions WHERE id = $1 AND organization_id = $5)
            """
        let sql =
            switch query.limit {
            case nil: select + " ORDER BY sequence"
            case let limit? where query.lastN:
                "SELECT * FROM (\(select) ORDER BY sequence DESC LIMIT \(max(limit, 0))) tail ORDER BY sequence"
            case let limit?: select + " ORDER BY sequence LIMIT \(max(limit, 0))"
            }
        return try await readEvents(PostgresQuery(unsafeSQL: sql, binds: binds))
    }

    public func event(id: String, organizationID: String) async throws -> Event? {
        try await schemaReady.wait()
        return try await readEvents(
            """
            SELECT \(unescaped: Self.eventColumns) FROM events
            WHERE id = \(id)
              AND EXISTS (
                  SELECT 1 FROM sessions WHERE sessions.id = events.session_id AND organization_id = \(organizationID))
            """
        ).first
    }

    package static let eventColumns =
        "id, session_id, sequence, type, ts, context::text, data::text, metadata::text, tags"

    private func readEvents(_ query: PostgresQuery) async throws -> [Event] {
        try await readEvents(query, on: nil)
    }

    /// Reads events on `connection` (inside a transaction) or on the pool.
    package func readEvents(_ query: PostgresQuery, on connection: PostgresConnection?) async throws -> [Event] {
        var events: [Event] = []
        let rows =
            if let connection { try await connection.query(query, logger: logger) } else {
                try await client.query(query, logger: logger)
            }
        for try await (id, sessionID, sequence, type, ts, context, data, metadata, tags) in rows.decode(
            (String, String, Int, String, Date, String, String, String?, [String]?).self)
        {
            events.append(
                Event(
                    id: id, type: EventType(rawValue: type), ts: Self.normalise(ts), sessionID: sessionID, sequence: sequence,
                    context: try Self.decodeContext(context), data: try Self.decodeJSON(data),
                    metadata: try metadata.map { try Self.decodeJSON($0) }, tags: tags))
        }
        return events
    }
}
