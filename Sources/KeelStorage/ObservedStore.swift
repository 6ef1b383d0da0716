import KeelCore

/// A store that tells observers about every appended event (traces, Braintrust, metrics) while
/// delegating everything to the underlying store.
public struct ObservedStore: KeelStore {
    public let base: any KeelStore
    public let observers: [any EventObserver]

    public init(base: any KeelStore, observers: [any EventObserver]) {
        self.base = base
        self.observers = observers
    }

    public var eventSignals: SessionEventSignals { base.eventSignals }

    public func appendEvent(sessionID: String, organizationID: String, _ draft: EventDraft) async throws -> Event {
        let event = try await base.appendEvent(sessionID: sessionID, organizationID: organizationID, draft)
        for observer in observers { observer.observe(event) }
        return event
    }

    public func insertAgent(_ agent: Agent) async throws { try await base.insertAgent(agent) }
    public func agent(id: String, organizationID: String) async throws -> Agent? {
        try await base.agent(id: id, organizationID: organizationID)
    }
    public func agent(named name: String, organizationID: String) async throws -> Agent? {
        try await base.agent(named: name, organizationID: organizationID)
    }
    public func listAgents(organizationID: String, includeArchived: Bool, search: String?, offset: Int, limit: Int)
        async throws -> Page<Agent>
    {
        try await base.listAgents(
            organizationID: organizationID, includeArchived: includeArchived, search: search, offset: offset, limit: limit)
    }
    public func updateAgent(id: String, organizationID: String, _ change: @Sendable (inout Agent) throws -> Void)
        async throws -> Agent
    {
        try await base.updateAgent(id: id, organizationID: organizationID, change)
    }
    public func insertSession(_ session: Session) async throws { try await base.insertSession(session) }
    public func session(id: String, organizationID: String) async throws -> Session? {
        try await base.session(id: id, organizationID: organizationID)
    }
    public func listSessions(organizationID: String, agentID: String?, search: String?, offset: Int, limit: Int)
        async throws -> Page<Session>
    {
        try await base.listSessions(organizationID: organizationID, agentID: agentID, search: search, offset: offset, limit: limit)
    }
    public func updateSession(id: String, organizationID: String, _ change: @Sendable (inout Session) throws -> Void)
        async throws -> Session
    {
        try await base.updateSession(id: id, organizationID: organizationID, change)
    }
    public func deleteSession(id: String, organizationID: String) async throws {
        try await base.deleteSession(id: id, organizationID: organizationID)
    }
    public func insertProvider(_ provider: LLMProvider) async throws { try await base.insertProvider(provider) }
    public func provider(id: String, organizationID: String) async throws -> LLMProvider? {
        try await base.provider(id: id, organizationID: organizationID)
    }
    public func listProviders(organizationID: String) async throws -> [LLMProvider] {
        try await base.listProviders(organizationID: organizationID)
    }
    public func updateProvider(
        id: String, organizationID: String, _ change: @Sendable (inout LLMProvider) throws -> Void
    ) async throws -> LLMProvider {
        try await base.updateProvider(id: id, organizationID: organizationID, change)
    }
    public func deleteProvider(id: String, organizationID: String) async throws {
        try await base.deleteProvider(id: id, organizationID: organizationID)
    }
    public func events(sessionID: String, organizationID: String, _ query: EventQuery) async throws -> [Event] {
        try await base.events(sessionID: sessionID, organizationID: organizationID, query)
    }
    public func event(id: String, organizationID: String) async throws -> Event? {
        try await base.event(id: id, organizationID: organizationID)
    }
}
