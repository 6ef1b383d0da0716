import Hummingbird
import KeelCore
import KeelServices

/// Resolves the `{id}` of a `/sessions/{id}/…` route to the caller's session; shared by the
/// controllers of a session's sub-resources.
struct SessionLookup: Sendable {
    let sessions: SessionService

    func session(_ request: Request, _ context: KeelRequestContext) async throws -> Session {
        let id = try RequestDecoding.requireID(context, "id", prefix: .session)
        return try await sessions.find(id, organizationID: try RequestScope.organizationID(context))
    }
}
