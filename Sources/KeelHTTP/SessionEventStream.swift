import Foundation
import Hummingbird
import KeelCore
import KeelServices
import ServiceLifecycle

/// One SSE connection: `connected`, the replay after the cursor, then live events as appends
/// wake it, heartbeats on a timer, and a `disconnecting` frame when the connection cycles.
struct SessionEventStream: Sendable {
    let events: EventService
    let sessionID: String
    /// The session's organization (the caller's): every read of the log names it.
    let organizationID: String
    let query: EventQuery
    let settings: SSESettings
    let permit: SSEConnectionLimiter.Permit

    func write(to writer: inout some ResponseBodyWriter) async throws {
        defer { permit.end() }
        let wakes = StreamWakes()
        // Subscribe before the first read so an append between the read and the wait still wakes us.
        let subscription = events.appends(sessionID: sessionID) { signal, appended in
            if signal == .changed {
                wakes.raise { due in
                    due.events = true
                    due.check = true
                    due.mustRead = true
                }
            } else {
                wakes.appended(appended)
            }
        }
        defer { subscription.cancel() }
        try await writer.write(ByteBuffer(string: "retry: \(settings.retryMilliseconds)\nevent: connected\ndata: {\"status\":\"connected\"}\n\n"))
        var cursor = query

        // On graceful shutdown the stream says goodbye like a cycle, so clients reconnect elsewhere
        // at once and the server does not wait for long-lived streams to end by themselves.
        try await withGracefulShutdownHandler {
          try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await wakes.runTimer(heartbeat: settings.heartbeatInterval, cycle: jitteredCycle()) }
            defer { group.cancelAll() }

            cursor.afterSequence = try await writeEvents(after: cursor, to: &writer)
            for await _ in wakes.bell {
                let due = wakes.take()
                if due.shutdown {
                    try await writeDisconnecting(reason: "server_shutdown", to: &writer)
                    return
                }
                if due.events, !due.mustRead,
                    let live = StreamWakes.continuation(after: cursor.afterSequence, of: due.delivered)
                {
                    // In-process appends that continue the cursor: written as handed over, no read.
                    try await write(live, to: &writer)
                    cursor.afterSequence = live.last?.sequence ?? cursor.afterSequence
                } else if due.events {
                    let next = try await writeEvents(after: cursor, to: &writer)
                    // A deletion wakes with `check`; the session is looked up only then, not on
                    // every append.
                    if due.check, next == cursor.afterSequence,
                        try await !events.sessionExists(sessionID, organizationID: organizationID)
                    { return }
                    cursor.afterSequence = next
                }
                if due.cycle {
                    try await writeDisconnecting(reason: "connection_cycle", to: &writer)
                    return
                }
                if due.heartbeat {
                    try await writer.write(ByteBuffer(string: ": heartbeat\n\n"))
                }
            }
          }
        } onGracefulShutdown: {
            wakes.raise { $0.shutdown = true }
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
        while true {
            let batch = try await events.events(sessionID: sessionID, organizationID: organizationID, page)
            guard let last = batch.last else { return page.afterSequence }
            try await write(batch, to: &writer)
            page.afterSequence = last.sequence
            if batch.count < settings.replayPageSize { return last.sequence }
        }
    }

    /// The events that match the stream's query, as SSE frames in one write.
    private func write(_ batch: [Event], to writer: inout some ResponseBodyWriter) async throws {
        var buffer = ByteBuffer()
        for event in batch where query.matches(event) {
            buffer.writeString("event: \(event.type)\nid: \(event.id)\ndata: ")
            buffer.writeBytes(event.jsonBytes)
            buffer.writeString("\n\n")
        }
        if buffer.readableBytes > 0 { try await writer.write(buffer) }
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
