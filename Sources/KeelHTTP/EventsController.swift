import Hummingbird
import KeelCore
import KeelServices

/// A session's event log: `GET /v1/sessions/{id}/events` (pages) and `GET /v1/sessions/{id}/sse`
/// (replay, then live).
struct EventsController: Sendable {
    let sessions: SessionLookup
    let events: EventService
    let settings: SSESettings
    let streams: SSEConnectionLimiter
    let gauge: StreamGauge

    func addRoutes(to v1: RouterGroup<KeelRequestContext>) {
        let reader = EventQueryReader(events: events)
        v1.get("sessions/{id}/events") { request, context in
            let session = try await sessions.session(request, context)
            let query = try await reader.query(request, for: session)
            let requested = try EventPaging.requestedLimit(request)
            if let requested, !EventPaging.hasCursor(request) {
                // A limit without a cursor asks for the latest events (nothing newer follows).
                return try JSONResponse.make(
                    EventPageBody(
                        data: try await events.latest(
                            sessionID: session.id, organizationID: session.organizationID, query, limit: requested),
                        hasMore: false))
            }
            let page = try await events.forwardPage(
                sessionID: session.id, organizationID: session.organizationID, query,
                limit: requested ?? EventPaging.defaultEventLimit)
            return try JSONResponse.make(
                EventPageBody(
                    data: page.events, hasMore: page.hasMore,
                    nextAfterSequence: page.hasMore ? page.events.last?.sequence : nil))
        }
        v1.get("sessions/{id}/sse") { request, context in
            // The stream learns of the client's close by reading the request to its end; a body
            // would be read (and back-pressured) first, so a stream request must not have one.
            if request.headers[.transferEncoding] != nil || (request.headers[.contentLength].flatMap { Int($0) } ?? 0) > 0 {
                throw APIError.badRequest("An event stream request takes no body")
            }
            let session = try await sessions.session(request, context)
            let query = try await reader.query(request, for: session)
            let permit = try streams.admit(sessionID: session.id, organizationID: session.organizationID)
            let stream = SessionEventStream(
                events: events, sessionID: session.id, organizationID: session.organizationID, query: query,
                settings: settings, permit: permit)
            return Response(
                status: .ok,
                headers: [
                    .contentType: "text/event-stream", .cacheControl: "no-cache",
                    // An ended stream ends its connection: the server stops reading it once the
                    // stream starts (close detection), so a client must not reuse it for the
                    // next request.
                    .connection: "close",
                ],
                body: ResponseBody { writer in
                    gauge.opened()
                    defer { gauge.closed() }
                    // A stream only writes now and then (heartbeats every 30 s by default), so a
                    // write error would notice a departed client late and hold its slot until then.
                    // Watching the connection's inbound side instead cancels the stream the moment
                    // the client closes, which ends it and releases its permit at once. (It needs
                    // the request body as the server made it: no middleware may replace it.)
                    try await request.body.consumeWithCancellationOnInboundClose { _ in
                        try await stream.write(to: &writer)
                    }
                })
        }
    }
}
