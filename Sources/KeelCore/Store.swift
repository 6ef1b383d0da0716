import Foundation

/// A page of results from a list call.
public struct Page<Item: Sendable>: Sendable {
    public var items: [Item]
    public var total: Int
    public var offset: Int
    public var limit: Int

    public init(items: [Item], total: Int, offset: Int, limit: Int) {
        self.items = items
        self.total = total
        self.offset = offset
        self.limit = limit
    }
}

/// Which events of a session to read.
public struct EventQuery: Sendable {
    /// Only events with a sequence greater than this.
    public var afterSequence: Int
    public var types: Set<EventType>?
    public var excluded: Set<EventType>
    /// At most this many events; `nil` for all.
    public var limit: Int?
    /// With a limit: take the last N matching events instead of the first N.
    public var lastN: Bool

    public init(
        afterSequence: Int = 0, types: Set<EventType>? = nil, excluded: Set<EventType> = [], limit: Int? = nil,
        lastN: Bool = false
    ) {
        self.afterSequence = afterSequence
        self.types = types
        self.excluded = excluded
        self.limit = limit
        self.lastN = lastN
    }

    public func matches(_ event: Event) -> Bool {
        guard event.sequence > afterSequence else { return false }
        if let types, !types.contains(event.type) { return false }
        return !excluded.contains(event.type)
    }
}

/// Errors every store reports the same way, so the HTTP layer maps them in one place.
public enum StoreError: Error, Sendable, Hashable {
    case notFound(kind: String, id: String)
    case conflict(String)
}

/// Persistence for agents, sessions, providers and the append-only event log.
///
/// Every call that names a row by id also names the caller's organization: a row of another
/// organization behaves exactly as if it did not exist (`nil`, or `StoreError.notFound`) and is
/// never changed, so a handler cannot reach across tenants by forgetting a check. Updates keep the
/// row's stored organization whatever the closure does to it.
///
/// Updates take a closure so a store can apply them atomically (an actor turn, or a transaction).
/// `appendEvent` allocates the next gapless sequence number and wakes live subscribers.
public protocol KeelStore: Sendable {
    func insertAgent(_ agent: Agent) async throws
    func agent(id: String, organizationID: String) async throws -> Agent?
    func agent(named name: String, organizationID: String) async throws -> Agent?
    func listAgents(organizationID: String, includeArchived: Bool, search: String?, offset: Int, limit: Int) async throws
        -> Page<Agent>
    @discardableResult
    func updateAgent(id: String, organizationID: String, _ change: @Sendable (inout Agent) throws -> Void) async throws
        -> Agent

    func insertSession(_ session: Session) async throws
    func session(id: String, organizationID: String) async throws -> Session?
    func listSessions(organizationID: String, agentID: String?, search: String?, offset: Int, limit: Int) async throws
        -> Page<Session>
    @discardableResult
    func updateSession(id: String, organizationID: String, _ change: @Sendable (inout Session) throws -> Void)
        async throws -> Session
    func deleteSession(id: String, organizationID: String) async throws

    func insertProvider(_ provider: LLMProvider) async throws
    func provider(id: String, organizationID: String) async throws -> LLMProvider?
    func listProviders(organizationID: String) async throws -> [LLMProvider]
    @discardableResult
    func updateProvider(
        id: String, organizationID: String, _ change: @Sendable (inout LLMProvider) throws -> Void
    ) async throws -> LLMProvider
    func deleteProvider(id: String, organizationID: String) async throws

    /// Appends to the session if it belongs to the organization; `StoreError.notFound` otherwise.
    func appendEvent(sessionID: String, organizationID: String, _ draft: EventDraft) async throws -> Event
    /// The session's events; none when the session is not the organization's.
    func events(sessionID: String, organizationID: String, _ query: EventQuery) async throws -> [Event]
    /// The event, if its session is the organization's.
    func event(id: String, organizationID: String) async throws -> Event?

    /// Wakes subscribers when events are appended; live readers wait on it instead of polling.
    var eventSignals: SessionEventSignals { get }
}
