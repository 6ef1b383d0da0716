import Foundation
import Hummingbird
import KeelCore

extension KeelAPI {
    func addSessionRoutes(to v1: RouterGroup<BasicRequestContext>) {
        v1.get("sessions") { request, _ in
            let offset = try RequestDecoding.integer(request, "offset", default: 0, range: 0...Int(Int32.max))
            let limit = try RequestDecoding.integer(request, "limit", default: 20, range: 1...100)
            let agentID = RequestDecoding.string(request, "agent_id")
            if let agentID, !PublicID.isValid(agentID, prefix: .agent) {
                throw APIError.badRequest("Invalid agent id '\(agentID)'", code: "invalid_id")
            }
            let page = try await store.listSessions(
                organizationID: organizationID(request), agentID: agentID,
                search: RequestDecoding.string(request, "search"), offset: offset, limit: limit)
            return try JSONResponse.make(PageBody(data: page.items, total: page.total, offset: offset, limit: limit))
        }
        v1.post("sessions") { request, _ in
            let input = try await RequestDecoding.decodeBody(SessionInput.self, from: request)
            let session = try await createSession(input, organizationID: organizationID(request))
            return try JSONResponse.make(session, status: .created)
        }
        v1.get("sessions/{id}") { request, context in
            try JSONResponse.make(try await findSession(context, request))
        }
        v1.patch("sessions/{id}") { request, context in
            let session = try await findSession(context, request)
            let patch = try await RequestDecoding.decodeBody(SessionPatch.self, from: request)
            try InputRules.validateSize(patch.title, "title", max: InputRules.maxDisplayNameBytes)
            try InputRules.validateTags(patch.tags)
            try await validateModel(patch.modelID, organizationID: session.organizationID)
            let updated = try await store.updateSession(id: session.id) { session in
                if let value = patch.title { session.title = value }
                if let value = patch.locale { session.locale = value }
                if let value = patch.tags { session.tags = value }
                if let value = patch.modelID { session.modelID = value }
            }
            return try JSONResponse.make(updated)
        }
        v1.delete("sessions/{id}") { request, context in
            let session = try await findSession(context, request)
            _ = try await engine.cancel(sessionID: session.id)
            try await store.deleteSession(id: session.id)
            await engine.sessionDeleted(sessionID: session.id)
            return JSONResponse.noContent()
        }
    }

    func findSession(_ context: BasicRequestContext, _ request: Request) async throws -> Session {
        let id = try RequestDecoding.requireID(context, "id", prefix: .session)
        guard let session = try await store.session(id: id), session.organizationID == organizationID(request) else {
            throw APIError.notFound("session", id)
        }
        return session
    }

    private func createSession(_ input: SessionInput, organizationID: String) async throws -> Session {
        try InputRules.validateHarness(id: input.harnessID, name: input.harnessName)
        if input.agentID != nil && input.agentName != nil {
            throw APIError.badRequest("Specify agent_id or agent_name, not both")
        }
        var agent: Agent?
        if let agentID = input.agentID {
            guard PublicID.isValid(agentID, prefix: .agent) else {
                throw APIError.badRequest("Invalid agent id '\(agentID)'", code: "invalid_id")
            }
            agent = try await store.agent(id: agentID)
            if agent == nil { throw APIError.notFound("agent", agentID) }
        } else if let name = input.agentName {
            agent = try await store.agent(named: name, organizationID: organizationID)
            if agent == nil { throw APIError.notFound("agent", name) }
        }
        if let agent, agent.status != .active {
            throw APIError.badRequest("Agent '\(agent.id)' is archived; restore it before starting sessions", code: "agent_archived")
        }
        try InputRules.validateSize(input.title, "title", max: InputRules.maxDisplayNameBytes)
        try await validateRuntimeSettings(
            systemPrompt: input.systemPrompt, maxIterations: input.maxIterations, tags: input.tags, tools: input.tools,
            capabilities: input.capabilities, modelID: input.modelID, organizationID: organizationID)

        let session = Session(
            organizationID: organizationID, agentID: agent?.id, title: input.title, locale: input.locale,
            modelID: input.modelID, systemPrompt: input.systemPrompt,
            capabilities: (input.capabilities ?? []).map(\.value), tools: input.tools ?? [], tags: input.tags ?? [],
            maxIterations: input.maxIterations, parallelToolCalls: input.parallelToolCalls)
        try await store.insertSession(session)
        _ = try await store.appendEvent(
            sessionID: session.id,
            EventDraft(type: EventType.sessionStarted, context: EventContext(),
                       data: ["agent_id": JSONValue(agent?.id), "model_id": JSONValue(input.modelID ?? agent?.defaultModelID)]))
        return session
    }
}
