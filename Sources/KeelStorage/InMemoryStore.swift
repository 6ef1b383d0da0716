import Foundation
import KeelCore

/// KeelStorage — implementations of `KeelStore`.
///
/// `InMemoryStore` backs DEV_MODE: everything lives in one actor and is lost when the process
/// stops. Event sequences are allocated inside the actor, so they are gapless and ordered.
/// Rows are found by id and then checked against the caller's organization (`owned`): another
/// organization's row reads as missing.
///
/// With `maxEventBytes`, the events kept are capped: once they take that much (by
/// `approximateBytes(of:)`: the payload's estimated JSON size plus the event's ids and a fixed
/// cost for its entries here), a new `input.message` — the start of every turn — is refused with
/// `StorageFull`, while turns already accepted run to their end. Deleting sessions frees their share.
public actor InMemoryStore: KeelStore {
    private var agents: [String: Agent] = [:]
    private var sessions: [String: Session] = [:]
    private var providers: [String: LLMProvider] = [:]
    private var eventLogs: [String: [Event]] = [:]
    private var eventIndex: [String: (sessionID: String, position: Int)] = [:]
    private var sessionEventBytes: [String: Int] = [:]
    /// What every stored event takes, by `approximateBytes(of:)`.
    public private(set) var eventBytes = 0
    public let maxEventBytes: Int?

    public nonisolated let eventSignals = SessionEventSignals()

    public init(maxEventBytes: Int? = nil) {
        self.maxEventBytes = maxEventBytes
    }

    /// About what `event` occupies in this store: its payloads (by their estimated JSON size, as
    /// the conversation cache counts them), its strings and ids, and the log's and index's entries.
    static func approximateBytes(of event: Event) -> Int {
        let context = event.context
        let strings = [context.turnID, context.inputMessageID, context.execID, context.traceID, context.spanID,
                       context.parentSpanID].reduce(0) { $0 + ($1.map { 16 + $0.utf8.count } ?? 0) }
        return 320 + event.id.utf8.count + strings + event.data.estimatedJSONSize
            + (event.metadata?.estimatedJSONSize ?? 0) + (event.tags ?? []).reduce(0) { $0 + 32 + $1.utf8.count }
    }

    // MARK: Agents

    public func insertAgent(_ agent: Agent) throws {
        guard agents[agent.id] == nil else { throw StoreError.conflict("agent \(agent.id) already exists") }
        if liveAgent(named: agent.name, organizationID: agent.organizationID) != nil {
            throw StoreError.conflict("an agent named '\(agent.name)' already exists")
        }
        agents[agent.id] = agent
    }

    public func agent(id: String, organizationID: String) -> Agent? {
        owned(agents[id], by: organizationID).flatMap { $0.status == .deleted ? nil : $0 }
    }

    public func agent(named name: String, organizationID: String) -> Agent? {
        liveAgent(named: name, organizationID: organizationID)
    }

    private func liveAgent(named name: String, organizationID: String) -> Agent? {
        agents.values.first { $0.name == name && $0.organizationID == organizationID && $0.status != .deleted }
    }

    public func listAgents(organizationID: String, includeArchived: Bool, search: String?, offset: Int, limit: Int)
        -> Page<Agent>
    {
        let matching = agents.values
            .filter { $0.organizationID == organizationID && $0.status != .deleted }
            .filter { includeArchived || $0.status == .active }
            .filter { agent in
                guard let search, !search.isEmpty else { return true }
                return agent.name.localizedCaseInsensitiveContains(search)
                    || (agent.displayName?.localizedCaseInsensitiveContains(search) ?? false)
            }
            .sorted { ($0.createdAt, $0.id) > ($1.createdAt, $1.id) }
        return page(matching, offset: offset, limit: limit)
    }

    public func updateAgent(id: String, organizationID: String, _ change: @Sendable (inout Agent) throws -> Void) throws
        -> Agent
    {
        guard var agent = agent(id: id, organizationID: organizationID) else {
            throw StoreError.notFound(kind: "agent", id: id)
        }
        try change(&agent)
        agent.organizationID = organizationID
        if let other = liveAgent(named: agent.name, organizationID: agent.organizationID), other.id != id {
            throw StoreError.conflict("an agent named '\(agent.name)' already exists")
        }
        agent.updatedAt = Date()
        agents[id] = agent
        return agent
    }

    // MARK: Sessions

    public func insertSession(_ session: Session) throws {
        guard sessions[session.id] == nil else { throw StoreError.conflict("session \(session.id) already exists") }
        sessions[session.id] = session
    }

    public func session(id: String, organizationID: String) -> Session? {
        owned(sessions[id], by: organizationID)
    }

    public func listSessions(organizationID: String, agentID: String?, search: String?, offset: Int, limit: Int)
        -> Page<Session>
    {
        let matching = sessions.values
            .filter { $0.organizationID == organizationID }
            .filter { agentID == nil || $0.agentID == agentID }
            .filter { session in
                guard let search, !search.isEmpty else { return true }
                return session.title?.localizedCaseInsensitiveContains(search) ?? false
            }
            .sorted { ($0.createdAt, $0.id) > ($1.createdAt, $1.id) }
        return page(matching, offset: offset, limit: limit)
    }

    public func updateSession(
        id: String, organizationID: String, _ change: @Sendable (inout Session) throws -> Void
    ) throws -> Session {
        guard var session = session(id: id, organizationID: organizationID) else {
            throw StoreError.notFound(kind: "session", id: id)
        }
        try change(&session)
        session.organizationID = organizationID
        session.updatedAt = Date()
        sessions[id] = session
        return session
    }

    public func deleteSession(id: String, organizationID: String) throws {
        guard session(id: id, organizationID: organizationID) != nil else {
            throw StoreError.notFound(kind: "session", id: id)
        }
        sessions[id] = nil
        for event in eventLogs.removeValue(forKey: id) ?? [] { eventIndex[event.id] = nil }
        eventBytes -= sessionEventBytes.removeValue(forKey: id) ?? 0
        eventSignals.notify(sessionID: id)
    }

    // MARK: Providers

    public func insertProvider(_ provider: LLMProvider) throws {
        guard providers[provider.id] == nil else { throw StoreError.conflict("provider \(provider.id) already exists") }
        providers[provider.id] = provider
    }

    public func provider(id: String, organizationID: String) -> LLMProvider? {
        owned(providers[id], by: organizationID)
    }

    public func listProviders(organizationID: String) -> [LLMProvider] {
        providers.values.filter { $0.organizationID == organizationID }.sorted { ($0.createdAt, $0.id) < ($1.createdAt, $1.id) }
    }

    public func updateProvider(
        id: String, organizationID: String, _ change: @Sendable (inout LLMProvider) throws -> Void
    ) throws -> LLMProvider {
        guard var provider = provider(id: id, organizationID: organizationID) else {
            throw StoreError.notFound(kind: "provider", id: id)
        }
        try change(&provider)
        provider.organizationID = organizationID
        provider.updatedAt = Date()
        providers[id] = provider
        return provider
    }

    public func deleteProvider(id: String, organizationID: String) throws {
        guard provider(id: id, organizationID: organizationID) != nil else {
            throw StoreError.notFound(kind: "provider", id: id)
        }
        providers[id] = nil
    }

    // MARK: Events

    public func appendEvent(sessionID: String, organizationID: String, _ draft: EventDraft) throws -> Event {
        guard session(id: sessionID, organizationID: organizationID) != nil else {
            throw StoreError.notFound(kind: "session", id: sessionID)
        }
        if let maxEventBytes, eventBytes >= maxEventBytes, draft.type == .inputMessage {
            throw StorageFull(usedBytes: eventBytes, limitBytes: maxEventBytes)
        }
        let position = eventLogs[sessionID]?.count ?? 0
        let event = Event(
            type: draft.type, sessionID: sessionID, sequence: position + 1, context: draft.context, data: draft.data,
            metadata: draft.metadata, tags: draft.tags)
        let size = Self.approximateBytes(of: event)
        eventBytes += size
        sessionEventBytes[sessionID, default: 0] += size
        eventIndex[event.id] = (sessionID, position)
        // Appended through the dictionary's in-place accessor: copying the log out and back would
        // duplicate the whole array on every append (quadratic in the session's length).
        eventLogs[sessionID, default: []].append(event)
        eventSignals.notifyAppended(sessionID: sessionID, events: [event])
        return event
    }

    public func events(sessionID: String, organizationID: String, _ query: EventQuery) -> [Event] {
        guard session(id: sessionID, organizationID: organizationID) != nil, let log = eventLogs[sessionID] else {
            return []
        }
        // Sequences start at 1 and are gapless, so the position of `afterSequence` is known.
        // A limited read stops scanning once it has its page instead of filtering the whole tail.
        let start = min(max(query.afterSequence, 0), log.count)
        let tail = log[start...]
        guard let limit = query.limit else { return tail.filter(query.matches) }
        if query.lastN { return Array(tail.reversed().lazy.filter(query.matches).prefix(limit).reversed()) }
        return Array(tail.lazy.filter(query.matches).prefix(limit))
    }

    public func event(id: String, organizationID: String) -> Event? {
        guard let (sessionID, position) = eventIndex[id], session(id: sessionID, organizationID: organizationID) != nil
        else { return nil }
        return eventLogs[sessionID]?[position]
    }

    /// The row if it belongs to the organization: another organization's row reads as missing.
    private func owned<Row: OrganizationOwned>(_ row: Row?, by organizationID: String) -> Row? {
        guard let row, row.organizationID == organizationID else { return nil }
        return row
    }

    private func page<T>(_ items: [T], offset: Int, limit: Int) -> Page<T> {
        let slice = items.dropFirst(offset).prefix(limit)
        return Page(items: Array(slice), total: items.count, offset: offset, limit: limit)
    }
}

/// The rows an organization owns, for the one ownership check above.
private protocol OrganizationOwned {
    var organizationID: String { get }
}

extension Agent: OrganizationOwned {}
extension Session: OrganizationOwned {}
extension LLMProvider: OrganizationOwned {}
