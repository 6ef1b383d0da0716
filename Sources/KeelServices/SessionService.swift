import KeelCore
import KeelEngine

/// Sessions: creation from an agent (which must be active) or from scratch, changes, deletion
/// (which cancels the running turn first).
public struct SessionService: Sendable {
    let store: any KeelStore
    let runner: any TurnRunner
    let rules: RuntimeSettingsRules

    public init(store: any KeelStore, runner: any TurnRunner, rules: RuntimeSettingsRules) {
        self.store = store
        self.runner = runner
        self.rules = rules
    }

    public func list(
        organizationID: String, agentID: String?, search: String?, offset: Int, limit: Int
    ) async throws -> Page<Session> {
        if let agentID { try InputRules.validateAgentID(agentID) }
        return try await store.listSessions(
            organizationID: organizationID, agentID: agentID, search: search, offset: offset, limit: limit)
    }

    /// The session with this (well-formed) id in the organization.
    public func find(_ id: String, organizationID: String) async throws -> Session {
        guard let session = try await store.session(id: id, organizationID: organizationID) else {
            throw ServiceError.notFound(kind: "session", id: id)
        }
        return session
    }

    /// Creates a session, from the agent named by id or name when one is, and records
    /// `session.started`. An archived agent starts no sessions.
    public func create(_ input: SessionInput, organizationID: String) async throws -> Session {
        try InputRules.validateHarness(id: input.harnessID, name: input.harnessName)
        if input.agentID != nil && input.agentName != nil {
            throw ServiceError.invalid("Specify agent_id or agent_name, not both")
        }
        var agent: Agent?
        if let agentID = input.agentID {
            try InputRules.validateAgentID(agentID)
            agent = try await store.agent(id: agentID, organizationID: organizationID)
            if agent == nil { throw ServiceError.notFound(kind: "agent", id: agentID) }
        } else if let name = input.agentName {
            agent = try await store.agent(named: name, organizationID: organizationID)
            if agent == nil { throw ServiceError.notFound(kind: "agent", id: name) }
        }
        if let agent, agent.status != .active {
            throw ServiceError.invalid(
                "Agent '\(agent.id)' is archived; restore it before starting sessions", code: "agent_archived")
        }
        try InputRules.validateSize(input.title, "title", max: InputLimits.displayNameBytes)
        try await rules.validate(
            systemPrompt: input.systemPrompt, maxIterations: input.maxIterations, tags: input.tags, tools: input.tools,
            capabilities: input.capabilities, modelID: input.modelID, organizationID: organizationID)

        let session = Session(
            organizationID: organizationID, agentID: agent?.id, title: input.title, locale: input.locale,
            modelID: input.modelID, systemPrompt: input.systemPrompt,
            capabilities: (input.capabilities ?? []).map(\.value), tools: input.tools ?? [], tags: input.tags ?? [],
            maxIterations: input.maxIterations, parallelToolCalls: input.parallelToolCalls)
        try await store.insertSession(session)
        _ = try await store.appendEvent(
            sessionID: session.id, organizationID: organizationID,
            EventDraft(
                SessionStartedPayload(agentID: agent?.id, modelID: input.modelID ?? agent?.defaultModelID),
                context: EventContext()))
        return session
    }

    public func update(_ existing: Session, with patch: SessionPatch) async throws -> Session {
        try InputRules.validateSize(patch.title, "title", max: InputLimits.displayNameBytes)
        try InputRules.validateTags(patch.tags)
        try await rules.validateModel(patch.modelID, organizationID: existing.organizationID)
        return try await store.updateSession(id: existing.id, organizationID: existing.organizationID) { session in
            if let value = patch.title { session.title = value }
            if let value = patch.locale { session.locale = value }
            if let value = patch.tags { session.tags = value }
            if let value = patch.modelID { session.modelID = value }
        }
    }

    /// Cancels the running turn, deletes the session with its events, then lets the runner
    /// release what it keeps for the session.
    public func delete(_ session: Session) async throws {
        _ = try await runner.cancel(sessionID: session.id, organizationID: session.organizationID)
        try await store.deleteSession(id: session.id, organizationID: session.organizationID)
        await runner.sessionDeleted(sessionID: session.id)
    }
}
