import KeelCore

/// Reading a session's event log: cursors, forward pages, the latest events, the message view
/// and live wake-ups. A session can hold tens of thousands of events, so every read is a page.
/// Every read names the session's organization (the caller's): another organization's session
/// reads as empty.
public struct EventService: Sendable {
    let store: any KeelStore
    /// Where the message view reports stored messages that do not decode (they are skipped).
    let decodeFailures: EventDecodeFailureReporter

    public init(store: any KeelStore, decodeFailures: EventDecodeFailureReporter) {
        self.store = store
        self.decodeFailures = decodeFailures
    }

    /// The sequence number of `eventID`, which must be an event of this session: reads continue
    /// after it (`since_id` / `Last-Event-ID`).
    public func sequence(ofCursor eventID: String, sessionID: String, organizationID: String) async throws -> Int {
        guard PublicID.isValid(eventID, prefix: .event) else {
            throw ServiceError.invalid("Invalid event id '\(eventID.prefix(80))' in since_id", code: "invalid_id")
        }
        guard let event = try await store.event(id: eventID, organizationID: organizationID), event.sessionID == sessionID
        else {
            throw ServiceError.invalid("since_id '\(eventID)' is not an event of this session", code: "invalid_cursor")
        }
        return event.sequence
    }

    /// Events as the store answers the query (its own `limit` and `lastN`).
    public func events(sessionID: String, organizationID: String, _ query: EventQuery) async throws -> [Event] {
        try await store.events(sessionID: sessionID, organizationID: organizationID, query)
    }

    /// The last `limit` matching events (nothing newer follows).
    public func latest(sessionID: String, organizationID: String, _ query: EventQuery, limit: Int) async throws
        -> [Event]
    {
        var latest = query
        latest.limit = limit
        latest.lastN = true
        return try await store.events(sessionID: sessionID, organizationID: organizationID, latest)
    }

    /// One forward page after `query.afterSequence`: `limit` items and whether more follow.
    public func forwardPage(sessionID: String, organizationID: String, _ query: EventQuery, limit: Int) async throws
        -> (events: [Event], hasMore: Bool)
    {
        var query = query
        query.limit = limit + 1
        query.lastN = false
        let events = try await store.events(sessionID: sessionID, organizationID: organizationID, query)
        return (Array(events.prefix(limit)), events.count > limit)
    }

    /// One page of the session's messages after `query.afterSequence`, with the sequence to read
    /// the next page after (nil on the last page).
    public func messagePage(
        sessionID: String, organizationID: String, _ query: EventQuery, limit: Int
    ) async throws -> (messages: [Message], hasMore: Bool, nextAfterSequence: Int?) {
        var query = query
        query.types = MessageProjection.sourceTypes
        query.excluded = []
        let page = try await forwardPage(sessionID: sessionID, organizationID: organizationID, query, limit: limit + 1)
        let events = Self.messageBoundary(
            Array(page.events.prefix(limit)),
            nextIsToolResult: page.events.count > limit && page.events[limit].type == EventType.toolCompleted)
        let hasMore = page.hasMore || page.events.count > events.count
        return (MessageProjection.messages(from: events, failures: decodeFailures), hasMore, hasMore ? events.last?.sequence : nil)
    }

    /// A message page must not split an agent message from the tool results that answer it:
    /// their order is restored from the calls in that message. When the page ends inside such a
    /// run, it ends before the agent message instead (unless that would leave it empty).
    static func messageBoundary(_ events: [Event], nextIsToolResult: Bool) -> [Event] {
        guard nextIsToolResult,
            let agent = events.lastIndex(where: { $0.type == EventType.outputMessageCompleted }), agent > 0
        else { return events }
        return Array(events[..<agent])
    }

    /// Wakes on every append to the session; subscribe before the first read so an append in
    /// between still wakes the reader.
    public func appends(
        sessionID: String, handler: @escaping SessionEventSignals.Handler
    ) -> SessionEventSignals.Subscription {
        store.eventSignals.subscribe(sessionID: sessionID, handler: handler)
    }

    /// Whether the session still exists (a deleted session ends its live readers).
    public func sessionExists(_ sessionID: String, organizationID: String) async throws -> Bool {
        try await store.session(id: sessionID, organizationID: organizationID) != nil
    }
}
