import Foundation
import Hummingbird
import KeelCore
import KeelEngine

extension KeelAPI {
    func addMessageRoutes(to v1: RouterGroup<BasicRequestContext>) {
        v1.post("sessions/{id}/messages") { request, context in
            let session = try await findSession(context, request)
            let input = try await RequestDecoding.decodeBody(MessageInput.self, from: request)
            let message = try validatedMessage(input)
            let traceparent = request.headers.first { $0.name.canonicalName == "traceparent" }?.value
            do {
                _ = try await engine.submit(
                    message, sessionID: session.id, traceContext: traceparent.flatMap(TraceContext.init(traceparent:)))
            } catch let refusal as QueuedMessageLimitExceeded {
                throw APIError(
                    .tooManyRequests, code: "too_many_queued_messages",
                    "This session already has \(refusal.limit) messages waiting for the running turn "
                        + "(MAX_QUEUED_MESSAGES_PER_SESSION); retry once it has caught up")
            }
            var created = message
            created.sessionID = session.id
            return try JSONResponse.make(created, status: .created)
        }
        v1.get("sessions/{id}/messages") { request, context in
            let session = try await findSession(context, request)
            var query = try await eventQuery(request, sessionID: session.id)
            query.types = MessageProjection.sourceTypes
            query.excluded = []
            let limit = try EventPaging.requestedLimit(request) ?? EventPaging.defaultMessageLimit
            let page = try await EventPaging.forwardPage(store: store, sessionID: session.id, query: query, limit: limit + 1)
            let events = EventPaging.messageBoundary(
                Array(page.events.prefix(limit)),
                nextIsToolResult: page.events.count > limit && page.events[limit].type == EventType.toolCompleted)
            let hasMore = page.hasMore || page.events.count > events.count
            return try JSONResponse.make(
                EventPageBody(
                    data: MessageProjection.messages(from: events), hasMore: hasMore,
                    nextAfterSequence: hasMore ? events.last?.sequence : nil))
        }
        v1.get("sessions/{id}/events") { request, context in
            let session = try await findSession(context, request)
            let query = try await eventQuery(request, sessionID: session.id)
            let requested = try EventPaging.requestedLimit(request)
            if let requested, !EventPaging.hasCursor(request) {
                // A limit without a cursor asks for the latest events (nothing newer follows).
                var latest = query
                latest.limit = requested
                latest.lastN = true
                return try JSONResponse.make(
                    EventPageBody(data: try await store.events(sessionID: session.id, latest), hasMore: false))
            }
            let page = try await EventPaging.forwardPage(
                store: store, sessionID: session.id, query: query, limit: requested ?? EventPaging.defaultEventLimit)
            return try JSONResponse.make(
                EventPageBody(
                    data: page.events, hasMore: page.hasMore,
                    nextAfterSequence: page.hasMore ? page.events.last?.sequence : nil))
        }
        v1.post("sessions/{id}/cancel") { request, context in
            let session = try await findSession(context, request)
            let cancelled = try await engine.cancel(sessionID: session.id)
            return try JSONResponse.make(
                cancelled
                    ? CancelBody(status: "cancelled", message: "The running turn was cancelled")
                    : CancelBody(status: "no_op", message: "No turn is running"))
        }
    }

    private func validatedMessage(_ input: MessageInput) throws -> Message {
        if let role = input.message.role, role != "user" {
            throw APIError.badRequest("message.role must be 'user' (got '\(role.prefix(40))')")
        }
        guard !input.message.content.isEmpty else {
            throw APIError.badRequest("message.content must contain at least one part")
        }
        for part in input.message.content {
            switch part {
            case .toolCall, .toolResult:
                throw APIError.badRequest("message.content: tool_call and tool_result parts cannot be sent as user input")
            case .text(let text) where text.utf8.count > InputRules.maxPromptBytes:
                throw APIError.badRequest("message text exceeds \(InputRules.maxPromptBytes) bytes", code: "input_too_large")
            default:
                continue
            }
        }
        if let controls = input.controls, controls.objectValue == nil {
            throw APIError.badRequest("controls must be an object")
        }
        try RunMetadata.validate(input.metadata)
        try InputRules.validateTags(input.tags)
        return Message(role: .user, content: input.message.content, controls: input.controls, metadata: input.metadata)
    }

    /// Reads `since_id` / `Last-Event-ID` / `after_sequence`, `types` and `exclude`.
    func eventQuery(_ request: Request, sessionID: String) async throws -> EventQuery {
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
            guard PublicID.isValid(sinceID, prefix: .event) else {
                throw APIError.badRequest("Invalid event id '\(sinceID.prefix(80))' in since_id", code: "invalid_id")
            }
            guard let event = try await store.event(id: sinceID), event.sessionID == sessionID else {
                throw APIError.badRequest("since_id '\(sinceID)' is not an event of this session", code: "invalid_cursor")
            }
            query.afterSequence = max(query.afterSequence, event.sequence)
        }
        return query
    }
}

/// The `Last-Event-ID` header browsers send when an EventSource reconnects.
func lastEventID(_ request: Request) -> String? {
    request.headers.first { $0.name.canonicalName == "last-event-id" }?.value
}
