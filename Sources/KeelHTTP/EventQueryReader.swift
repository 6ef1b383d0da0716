import Hummingbird
import KeelCore
import KeelServices

/// Reads an event query from a request: `types`, `exclude`, and the cursor from
/// `after_sequence`, `since_id` or the `Last-Event-ID` header (the later of them wins).
struct EventQueryReader: Sendable {
    let events: EventService

    func query(_ request: Request, for session: Session) async throws -> EventQuery {
        var query = EventQuery(
            types: try RequestDecoding.eventTypes(request, "types"),
            excluded: try RequestDecoding.eventTypes(request, "exclude") ?? [])
        if let after = RequestDecoding.string(request, "after_sequence") {
            guard let value = Int(after), value >= 0 else {
                throw APIError.badRequest("Query parameter 'after_sequence' must be a non-negative integer")
            }
            query.afterSequence = value
        }
        if let sinceID = RequestDecoding.string(request, "since_id") ?? lastEventID(request) {
            let cursor = try await events.sequence(
                ofCursor: sinceID, sessionID: session.id, organizationID: session.organizationID)
            query.afterSequence = max(query.afterSequence, cursor)
        }
        return query
    }
}

/// The `Last-Event-ID` header browsers send when an EventSource reconnects.
func lastEventID(_ request: Request) -> String? {
    request.headers.first { $0.name.canonicalName == "last-event-id" }?.value
}
