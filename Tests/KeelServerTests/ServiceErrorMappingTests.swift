import Hummingbird
@testable import KeelHTTP
import KeelServices
import Testing

/// The services throw `ServiceError`; `APIError` is the one place that gives each case its
/// status, code and text (the texts the HTTP contract tests pin end to end).
@Suite("ServiceError to the error envelope")
struct ServiceErrorMappingTests {
    @Test("every case maps to its status and code", arguments: [
        (ServiceError.invalidInput(code: "agent_archived", message: "m"), HTTPResponse.Status.badRequest, "agent_archived"),
        (.notFound(kind: "agent", id: "x"), .notFound, "agent_not_found"),
        (.modelNotFound(reference: "x/y"), .notFound, "model_not_found"),
        (.conflict("m"), .conflict, "conflict"),
        (.invalidMetadata("m"), .unprocessableContent, "invalid_metadata"),
        (.tooManyQueuedMessages(limit: 3), .tooManyRequests, "too_many_queued_messages"),
        (.encryptionFailed, .internalServerError, "encryption_failed"),
    ])
    func mapping(error: ServiceError, status: HTTPResponse.Status, code: String) {
        let mapped = APIError.from(error as any Error)
        #expect(mapped.status == status)
        #expect(mapped.code == code)
    }

    @Test("texts: not-found names the kind, a model reference is cut to 200 characters, the queue names its limit")
    func texts() {
        #expect(APIError.from(ServiceError.notFound(kind: "harness", id: "h") as any Error).message == "Harness 'h' not found")
        let long = String(repeating: "m", count: 500)
        #expect(
            APIError.from(ServiceError.modelNotFound(reference: long) as any Error).message
                == "Model '\(String(repeating: "m", count: 200))' not found; see GET /v1/models")
        #expect(APIError.from(ServiceError.tooManyQueuedMessages(limit: 7) as any Error).message.contains("already has 7 messages"))
    }
}
