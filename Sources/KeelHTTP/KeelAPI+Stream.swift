import Foundation
import Hummingbird
import KeelCore
import ServiceLifecycle

extension KeelAPI {
    func addStreamRoutes(to v1: RouterGroup<BasicRequestContext>) {
        v1.get("sessions/{id}/sse") { request, context in
            // The stream learns of the client's close by reading the request to its end; a body
            // would be read (and back-pressured) first, so a stream request must not have one.
            if request.headers[.transferEncoding] != nil || (request.headers[.contentLength].flatMap { Int($0) } ?? 0) > 0 {
                throw APIError.badRequest("An event stream request takes no body")
            }
            let session = try await findSession(context, request)
            let query = try await eventQuery(request, sessionID: session.id)
            let permit = try streams.admit(sessionID: session.id, organizationID: session.organizationID)
            let stream = SessionEventStream(
                store: store, sessionID: session.id, query: query, settings: settings.sse, permit: permit)
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
                    sseStreamOpened()
                    defer { sseStreamClosed() }
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

/// One SSE connection: `connected`, the replay after the cursor, then live events as appends
/// wake it, heartbeats on a timer, and a `disconnecting` frame when the connection cycles.
struct SessionEventStream: Sendable {
    let store: any KeelStore
    let sessionID: String
    let query: EventQuery
    let settings: SSESettings
    let permit: SSEConnectionLimiter.Permit

    private enum Wake: Sendable {
        case events, heartbeat, cycle, shutdown
    }

    func write(to writer: inout some ResponseBodyWriter) async throws {
        defer { permit.end() }
        // Subscribe before the first read so an append between the read and the wait still wakes us.
        let appends = store.eventSignals.subscribe(sessionID: sessionID)
        let (wakes, wake) = AsyncStream<Wake>.makeStream()
        try await writer.write(ByteBuffer(string: "retry: \(settings.retryMilliseconds)\nevent: connected\ndata: {\"status\":\"connected\"}\n\n"))
        var cursor = query

        // On graceful shutdown the stream says goodbye like a cycle, so clients reconnect elsewhere
        // at once and the server does not wait for long-lived streams to end by themselves.
        try await withGracefulShutdownHandler {
          try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                for await _ in appends { wake.yield(.events) }
            }
            group.addTask {
                while true {
                    try await Task.sleep(for: settings.heartbeatInterval)
                    wake.yield(.heartbeat)
                }
            }
            group.addTask {
                try await Task.sleep(for: jitteredCycle())
                wake.yield(.cycle)
            }
            defer { group.cancelAll() }

            cursor.afterSequence = try await writeEvents(after: cursor, to: &writer)
            for await reason in wakes {
                switch reason {
                case .events:
                    let next = try await writeEvents(after: cursor, to: &writer)
                    // Appends always bring events; a wake-up without any is how deletion shows,
                    // so the session is looked up only then, not on every append.
                    if next == cursor.afterSequence, try await store.session(id: sessionID) == nil { return }
                    cursor.afterSequence = next
                case .heartbeat:
                    try await writer.write(ByteBuffer(string: ": heartbeat\n\n"))
                case .cycle:
                    try await writeDisconnecting(reason: "connection_cycle", to: &writer)
                    return
                case .shutdown:
                    try await writeDisconnecting(reason: "server_shutdown", to: &writer)
                    return
                }
            }
          }
        } onGracefulShutdown: {
            wake.yield(.shutdown)
        }
        try await writer.finish(nil)
    }

    /// Writes every matching event after the cursor and returns the new cursor. The cursor moves
    /// past filtered-out events too, so they are never re-read.
    ///
    /// Events are read a page at a time and each page is written (and flushed to the socket, which
    /// waits while the client is slow) before the next is read, so a long history replayed to a
    /// slow client holds one page in memory rather than the whole log.
    private func writeEvents(after query: EventQuery, to writer: inout some ResponseBodyWriter) async throws -> Int {
        var page = query
        page.types = nil
        page.excluded = []
        page.limit = settings.replayPageSize
        page.lastN = false
        let encoder = KeelJSON.encoder
        while true {
            let events = try await store.events(sessionID: sessionID, page)
            guard let last = events.last else { return page.afterSequence }
            var buffer = ByteBuffer()
            for event in events where query.matches(event) {
                buffer.writeString("event: \(event.type)\nid: \(event.id)\ndata: ")
                buffer.writeBytes(try encoder.encode(event))
                buffer.writeString("\n\n")
            }
            if buffer.readableBytes > 0 { try await writer.write(buffer) }
            page.afterSequence = last.sequence
            if events.count < settings.replayPageSize { return last.sequence }
        }
    }

    private func writeDisconnecting(reason: String, to writer: inout some ResponseBodyWriter) async throws {
        let data = "{\"reason\":\"\(reason)\",\"retry_ms\":\(settings.retryMilliseconds)}"
        try await writer.write(ByteBuffer(string: "event: disconnecting\ndata: \(data)\n\n"))
    }

    private func jitteredCycle() -> Duration {
        let jitter = Double.random(in: -settings.cycleJitter...settings.cycleJitter)
        return settings.realtimeCycle * (1 + jitter)
    }
}
