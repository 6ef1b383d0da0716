import Hummingbird
import KeelCore
import KeelServices

/// `/v1/agents`: list, create-or-update (`POST`, `PUT` by id or name), read, patch, archive.
struct AgentsController: Sendable {
    let agents: AgentService

    func addRoutes(to v1: RouterGroup<KeelRequestContext>) {
        v1.get("agents") { request, context in
            let offset = try RequestDecoding.integer(request, "offset", default: 0, range: 0...Int(Int32.max))
            let limit = try RequestDecoding.integer(request, "limit", default: 20, range: 1...100)
            let page = try await agents.list(
                organizationID: try RequestScope.organizationID(context),
                includeArchived: try RequestDecoding.boolean(request, "include_archived"),
                search: RequestDecoding.string(request, "search"), offset: offset, limit: limit)
            return try JSONResponse.make(PageBody(data: page.items, total: page.total, offset: offset, limit: limit))
        }
        v1.post("agents") { request, context in
            let input = try await RequestDecoding.decodeBody(AgentInput.self, from: request)
            let (agent, created) = try await agents.apply(input, organizationID: try RequestScope.organizationID(context))
            return try JSONResponse.make(agent, status: created ? .created : .ok)
        }
        v1.get("agents/{id}") { request, context in
            try JSONResponse.make(try await find(request, context))
        }
        v1.put("agents/{id}") { request, context in
            let key = context.parameters.get("id") ?? ""
            let input = try await RequestDecoding.decodeBody(AgentInput.self, from: request)
            let (agent, created) = try await agents.apply(input, organizationID: try RequestScope.organizationID(context), key: key)
            return try JSONResponse.make(agent, status: created ? .created : .ok)
        }
        v1.patch("agents/{id}") { request, context in
            let existing = try await find(request, context)
            let patch = try await RequestDecoding.decodeBody(AgentPatch.self, from: request)
            return try JSONResponse.make(try await agents.update(existing, with: patch))
        }
        v1.delete("agents/{id}") { request, context in
            try await agents.archive(try await find(request, context))
            return JSONResponse.noContent()
        }
    }

    /// The agent the path's `{id}` names by id or by name.
    private func find(_ request: Request, _ context: KeelRequestContext) async throws -> Agent {
        try await agents.find(context.parameters.get("id") ?? "", organizationID: try RequestScope.organizationID(context))
    }
}
