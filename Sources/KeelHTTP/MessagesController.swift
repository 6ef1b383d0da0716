import Hummingbird
import KeelCore
import KeelEngine
import KeelServices

/// `/v1/sessions/{id}/messages` (send, page through) and `/v1/sessions/{id}/cancel`.
struct MessagesController: Sendable {
    let sessions: SessionLookup
    let messages: MessageService
    let events: EventService

    func addRoutes(to v1: RouterGroup<KeelRequestContext>) {
        v1.post("sessions/{id}/messages") { request, context in
            let session = try await sessions.session(request, context)
            let input = try await RequestDecoding.decodeBody(MessageInput.self, from: request)
            let traceparent = request.headers.first { $0.name.canonicalName == "traceparent" }?.value
            let created = try await messages.submit(
                input, to: session, traceContext: traceparent.flatMap(TraceContext.init(traceparent:)))
            return try JSONResponse.make(created, status: .created)
        }
        v1.get("sessions/{id}/messages") { request, context in
            let session = try await sessions.session(request, context)
            let query = try await EventQueryReader(events: events).query(request, for: session)
            let limit = try EventPaging.requestedLimit(request) ?? EventPaging.defaultMessageLimit
            let page = try await events.messagePage(
                sessionID: session.id, organizationID: session.organizationID, query, limit: limit)
            return try JSONResponse.make(
                EventPageBody(data: page.messages, hasMore: page.hasMore, nextAfterSequence: page.nextAfterSequence))
        }
        v1.post("sessions/{id}/tool-results") { request, context in
            let session = try await sessions.session(request, context)
            let input = try await RequestDecoding.decodeBody(ToolResultsInput.self, from: request)
            return try JSONResponse.make(AcceptedInputBody(try await messages.submitToolResults(input, to: session)))
        }
        v1.post("sessions/{id}/tool-approvals") { request, context in
            let session = try await sessions.session(request, context)
            let input = try await RequestDecoding.decodeBody(ToolApprovalsInput.self, from: request)
            return try JSONResponse.make(AcceptedInputBody(try await messages.submitApprovals(input, to: session)))
        }
        v1.post("sessions/{id}/question-answers") { request, context in
            let session = try await sessions.session(request, context)
            let input = try await RequestDecoding.decodeBody(QuestionAnswersInput.self, from: request)
            return try JSONResponse.make(AcceptedInputBody(try await messages.submitAnswers(input, to: session)))
        }
        v1.post("sessions/{id}/cancel") { request, context in
            let session = try await sessions.session(request, context)
            let cancelled = try await messages.cancelTurn(of: session)
            return try JSONResponse.make(
                cancelled
                    ? CancelBody(status: "cancelled", message: "The running turn was cancelled")
                    : CancelBody(status: "no_op", message: "No turn is running"))
        }
    }
}

/// Answer of `POST /v1/sessions/{id}/tool-results`, `/tool-approvals` and `/question-answers`.
struct AcceptedInputBody: Encodable {
    var accepted: Int
    var status: String

    init(_ accepted: HumanInputAccepted) {
        self.accepted = accepted.accepted
        self.status = accepted.status.rawValue
    }
}

/// Answer of `POST /v1/sessions/{id}/cancel`.
struct CancelBody: Encodable {
    var status: String
    var message: String
}
