import Hummingbird
import KeelCore
import KeelServices

/// `/v1/sessions`: list, create, read, patch, delete.
struct SessionsController: Sendable {
    let sessions: SessionService

    func addRoutes(to v1: RouterGroup<KeelRequestContext>) {
        let lookup = SessionLookup(sessions: sessions)
        v1.get("sessions") { request, context in
            let offset = try RequestDecoding.integer(request, "offset", default: 0, range: 0...Int(Int32.max))
            let limit = try RequestDecoding.integer(request, "limit", default: 20, range: 1...100)
            let page = try await sessions.list(
                organizationID: try RequestScope.organizationID(context), agentID: RequestDecoding.string(request, "agent_id"),
                search: RequestDecoding.string(request, "search"), offset: offset, limit: limit)
            return try JSONResponse.make(PageBody(data: page.items, total: page.total, offset: offset, limit: limit))
        }
        v1.post("sessions") { request, context in
            let input = try await RequestDecoding.decodeBody(SessionInput.self, from: request)
            let session = try await sessions.create(input, organizationID: try RequestScope.organizationID(context))
            return try JSONResponse.make(session, status: .created)
        }
        v1.get("sessions/{id}") { request, context in
            try JSONResponse.make(try await lookup.session(request, context))
        }
        v1.patch("sessions/{id}") { request, context in
            let session = try await lookup.session(request, context)
            let patch = try await RequestDecoding.decodeBody(SessionPatch.self, from: request)
            return try JSONResponse.make(try await sessions.update(session, with: patch))
        }
        v1.delete("sessions/{id}") { request, context in
            try await sessions.delete(try await lookup.session(request, context))
            return JSONResponse.noContent()
        }
    }
}
