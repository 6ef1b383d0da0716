import Foundation
import HTTPTypes
import Hummingbird
import KeelAgentProtocol
import KeelCore

extension AgentProtocolController {
    func addRunRoutes(to group: RouterGroup<KeelRequestContext>) {
        group.post("threads/{thread_id}/runs") { request, context in
            let run = try await create(request, context, threadID: try Self.parameter(context, "thread_id"))
            return try ProtocolResponse.json(service.runJSON(run, service.freshProjection(run)))
        }
        group.post("runs") { request, context in
            let run = try await create(request, context, threadID: nil)
            return try ProtocolResponse.json(service.runJSON(run, service.freshProjection(run)))
        }
        group.post("threads/{thread_id}/runs/stream") { request, context in
            let threadID = try Self.parameter(context, "thread_id")
            let permit = try admit(context, threadID: threadID)
            return stream(try await create(request, context, threadID: threadID), permit, request: request, created: true)
        }
        group.post("runs/stream") { request, context in
            let permit = try admit(context, threadID: nil)
            return stream(try await create(request, context, threadID: nil), permit, request: request, created: true)
        }
        group.post("threads/{thread_id}/runs/wait") { request, context in
            let threadID = try Self.parameter(context, "thread_id")
            let permit = try admit(context, threadID: threadID)
            return wait(try await create(request, context, threadID: threadID), permit)
        }
        group.post("runs/wait") { request, context in
            let permit = try admit(context, threadID: nil)
            return wait(try await create(request, context, threadID: nil), permit)
        }
        group.get("threads/{thread_id}/runs") { request, context in
            let status = RequestDecoding.string(request, "status")
            if let status, RunStatus(rawValue: status) == nil {
                throw AgentProtocolError.invalid("status must be one of \(RunStatus.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            let runs = try await service.listRuns(
                threadID: try Self.parameter(context, "thread_id"), status: status,
                limit: try RequestDecoding.integer(request, "limit", default: 10, range: 1...1000),
                offset: try RequestDecoding.integer(request, "offset", default: 0, range: 0...Int(Int32.max)),
                organizationID: try RequestScope.organizationID(context))
            return try ProtocolResponse.json(.array(runs))
        }
        group.get("threads/{thread_id}/runs/{run_id}") { _, context in
            let run = try await run(context)
            let projector = try await service.projection(of: run)
            return try ProtocolResponse.json(service.runJSON(run, projector))
        }
        group.delete("threads/{thread_id}/runs/{run_id}") { request, context in
            let force = ["1", "true"].contains(RequestDecoding.string(request, "force") ?? "")
            try await service.deleteRun(try await run(context), force: force)
            return JSONResponse.noContent()
        }
        group.get("threads/{thread_id}/runs/{run_id}/join") { _, context in
            let run = try await run(context)
            return wait(run, try admit(context, threadID: run.thread.id))
        }
        group.get("threads/{thread_id}/runs/{run_id}/stream") { request, context in
            let run = try await run(context)
            return stream(run, try admit(context, threadID: run.thread.id), request: request, created: false)
        }
        group.post("threads/{thread_id}/runs/{run_id}/cancel") { request, context in
            let action = RequestDecoding.string(request, "action") ?? "interrupt"
            guard ["cancel", "interrupt", "rollback"].contains(action) else {
                throw AgentProtocolError.invalid("action must be cancel, interrupt or rollback")
            }
            let run = try await run(context)
            let projector = try await service.cancelRun(run)
            if action == "rollback" { try? await service.deleteRun(run, force: true) }
            return try ProtocolResponse.json(service.runJSON(run, projector))
        }
    }

    private func create(_ request: Request, _ context: KeelRequestContext, threadID: String?) async throws -> RunRef {
        let body = try await Self.body(request)
        let traceparent = request.headers.first { $0.name.canonicalName == "traceparent" }?.value
        let requestID = request.headers.first { $0.name.canonicalName == "x-request-id" }?.value
        return try await service.createRun(
            threadID: threadID, body, organizationID: try RequestScope.organizationID(context),
            request: RunRequestContext(
                requestID: requestID, traceContext: traceparent.flatMap(TraceContext.init(traceparent:))))
    }

    /// Not existing may look like a polling miss; the run lookup is shape-agnostic, so a foreign id is simply 404.
    private func run(_ context: KeelRequestContext) async throws -> RunRef {
        try await service.run(
            try Self.parameter(context, "run_id"), threadID: try Self.parameter(context, "thread_id"),
            organizationID: try RequestScope.organizationID(context))
    }

    /// The run's SSE stream: `metadata` first, the parts of its stream modes, `end` last, each with
    /// id `<run_id>_event_<n>`; `Last-Event-ID` resumes after part n (also on a finished run).
    /// Streams, waits and joins hold a connection until the run ends: they count against the SSE
    /// limits (`SSE_GLOBAL_MAX`, `SSE_PER_ORG_MAX`, and `SSE_PER_SESSION_MAX` per thread; a
    /// stateless run's thread is its own), 429 beyond them.
    private func admit(_ context: KeelRequestContext, threadID: String?) throws -> SSEConnectionLimiter.Permit {
        try streams.admit(
            sessionID: "thread:" + (threadID ?? UUID().uuidString), organizationID: try RequestScope.organizationID(context))
    }

    private func stream(_ run: RunRef, _ permit: SSEConnectionLimiter.Permit, request: Request, created: Bool) -> Response {
        let lastEventID = request.headers.first { $0.name.canonicalName == "last-event-id" }?.value
        let afterPart = AgentProtocolService.partNumber(lastEventID: lastEventID, runID: run.id)
        let path = "/threads/\(run.thread.id)/runs/\(run.id)"
        let service = self.service
        let keepalive = self.keepalive
        let gauge = self.gauge
        return Response(
            status: .ok,
            headers: [
                .contentType: "text/event-stream", .cacheControl: "no-cache",
                .xAccelBuffering: "no", .location: path + "/stream", .contentLocation: path,
            ],
            body: ResponseBody { writer in
                defer { permit.end() }
                gauge.opened()
                defer { gauge.closed() }
                let projector: RunProjector
                do {
                    projector = try await service.follow(
                        run, afterPart: afterPart, heartbeat: keepalive,
                        emit: { number, part in
                            var buffer = ByteBuffer()
                            buffer.writeString("event: \(part.event)\ndata: ")
                            buffer.writeBytes(try ProtocolResponse.encoder.encode(part.data))
                            buffer.writeString("\nid: \(run.id)_event_\(number)\n\n")
                            try await writer.write(buffer)
                        },
                        onHeartbeat: { try await writer.write(ByteBuffer(string: ": heartbeat\n\n")) })
                } catch {
                    // A write failed (the client left) or the request was cancelled.
                    if created { service.clientDisconnected(from: run) }
                    throw error
                }
                // Unfinished here means the stream was cancelled (or the thread deleted) before the end.
                guard projector.isFinished else {
                    if created { service.clientDisconnected(from: run) }
                    return
                }
                if created { await service.finishStateless(run, projector) }
                try await writer.finish(nil)
            })
    }

    /// Waits for the run's end (keepalive newlines meanwhile), then answers its output: the final
    /// values, or `{"__error__": …}`.
    private func wait(_ run: RunRef, _ permit: SSEConnectionLimiter.Permit) -> Response {
        let service = self.service
        let keepalive = self.keepalive
        return Response(
            status: .ok, headers: [.contentType: "application/json", .contentLocation: "/threads/\(run.thread.id)/runs/\(run.id)"],
            body: ResponseBody { writer in
                defer { permit.end() }
                let projector = try await service.join(
                    run, heartbeat: keepalive, onHeartbeat: { try await writer.write(ByteBuffer(string: "\n")) })
                let output: JSONValue =
                    projector.output
                    ?? ["__error__": ["error": "IncompleteRun", "message": "The run's thread was deleted before the run ended"]]
                await service.finishStateless(run, projector)
                try await writer.write(ByteBuffer(bytes: try ProtocolResponse.encoder.encode(output)))
                try await writer.finish(nil)
            })
    }
}

extension HTTPField.Name {
    /// Tells nginx-style proxies not to buffer a stream.
    static let xAccelBuffering = Self("X-Accel-Buffering")!
}
