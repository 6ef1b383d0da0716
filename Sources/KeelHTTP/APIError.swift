import Foundation
import Hummingbird
import KeelAgentProtocol
import KeelAuth
import KeelCore
import KeelEngine
import KeelServices

/// KeelHTTP — the Everruns-compatible HTTP API: one controller per resource (decoding, request
/// limits, encoding) over the services of KeelServices (the rules), the error envelope, CORS,
/// server-sent events and the OpenAPI document.
///
/// Every failure leaves through `APIError`, and this file is the one place that maps errors
/// (the services' `ServiceError` included) to HTTP statuses. The envelope carries both the problem+json fields and `error{code,message}`,
/// which is what the Everruns SDKs read.
public struct APIError: Error, Sendable {
    public var status: HTTPResponse.Status
    public var code: String
    public var message: String
    /// For 429s and 503s: when to retry, as `Retry-After` and `retry_after_seconds`.
    public var retryAfterSeconds: Int?

    public init(_ status: HTTPResponse.Status, code: String, _ message: String, retryAfterSeconds: Int? = nil) {
        self.status = status
        self.code = code
        self.message = message
        self.retryAfterSeconds = retryAfterSeconds
    }

    static func badRequest(_ message: String, code: String = "invalid_request") -> APIError {
        APIError(.badRequest, code: code, message)
    }

    static func notFound(_ kind: String, _ id: String) -> APIError {
        APIError(.notFound, code: "\(kind)_not_found", "\(kind.capitalized) '\(id)' not found")
    }

    static func conflict(_ message: String) -> APIError {
        APIError(.conflict, code: "conflict", message)
    }

    static func tooManyStreams(_ message: String) -> APIError {
        APIError(.tooManyRequests, code: "too_many_streams", message)
    }

    /// Maps any error a handler lets escape to the API error users see.
    static func from(_ error: any Error) -> APIError {
        switch error {
        case let error as APIError:
            return error
        case let error as ServiceError:
            return from(error)
        case let error as AuthError:
            return from(error)
        case let error as HumanInputError:
            switch error {
            case .notWaiting(let kind):
                return APIError(.conflict, code: "not_waiting", "Session is not waiting for \(kind.rawValue)")
            case .unknownCall(let id):
                return .badRequest("No pending tool call '\(id.prefix(64))' for this request", code: "unknown_tool_call")
            case .duplicate(let id):
                return .badRequest("Tool call '\(id.prefix(64))' already has a result", code: "duplicate_tool_result")
            case .answerCount(let expected, let got):
                return .badRequest("Expected \(expected) answers, one per question, got \(got)", code: "answer_count_mismatch")
            case .questionSetNotNamed:
                return .badRequest(
                    "Several question sets are pending: name one with tool_call_id", code: "tool_call_id_required")
            }
        case let error as AgentProtocolError:
            switch error {
            case .invalid(let message): return APIError(.unprocessableContent, code: "validation_error", message)
            case .notFound(let kind, let id): return .notFound(kind, id)
            case .conflict(let message): return .conflict(message)
            case .badRequest(let message): return .badRequest(message, code: "bad_request")
            }
        case let error as OperationsError:
            switch error {
            case .unavailable:
                return APIError(
                    .notFound, code: "durable_unavailable",
                    "The durable engine's operations API needs PostgreSQL; this server runs with DEV_MODE in memory")
            case .notFound(let kind, let id): return .notFound(kind.replacingOccurrences(of: " ", with: "_"), id)
            case .conflict(let code, let message): return APIError(.conflict, code: code, message)
            }
        case let error as StorageFull:
            return APIError(
                HTTPResponse.Status(code: 507, reasonPhrase: "Insufficient Storage"), code: "storage_full",
                "The in-memory store is full: its events take about \(error.usedBytes >> 20) MiB, the cap "
                    + "(MEMORY_STORE_MAX_MB) is \(error.limitBytes >> 20) MiB. Delete sessions to free memory, "
                    + "or run on PostgreSQL (DATABASE_URL)")
        case let error as StoreError:
            switch error {
            case .notFound(let kind, let id): return .notFound(kind, id)
            case .conflict(let message): return .conflict(message)
            }
        case let error as HTTPError:
            switch error.status {
            case .notFound: return APIError(.notFound, code: "route_not_found", "No route matches this method and path")
            case .methodNotAllowed: return APIError(.methodNotAllowed, code: "method_not_allowed", "Method not allowed")
            case .contentTooLarge:
                return APIError(.contentTooLarge, code: "payload_too_large", "Request body is too large")
            default:
                let status = error.status
                return APIError(status, code: status.code < 500 ? "invalid_request" : "internal_error", error.body ?? status.reasonPhrase)
            }
        default:
            return APIError(.internalServerError, code: "internal_error", "Internal server error")
        }
    }

    /// The services' domain errors, as statuses and codes.
    static func from(_ error: ServiceError) -> APIError {
        switch error {
        case .invalidInput(let code, let message):
            return .badRequest(message, code: code)
        case .notFound(let kind, let id):
            return .notFound(kind, id)
        case .modelNotFound(let reference):
            return APIError(.notFound, code: "model_not_found", "Model '\(reference.prefix(200))' not found; see GET /v1/models")
        case .conflict(let message):
            return .conflict(message)
        case .invalidMetadata(let message):
            return APIError(.unprocessableContent, code: "invalid_metadata", message)
        case .tooManyQueuedMessages(let limit):
            return APIError(
                .tooManyRequests, code: "too_many_queued_messages",
                "This session already has \(limit) messages waiting for the running turn "
                    + "(MAX_QUEUED_MESSAGES_PER_SESSION); retry once it has caught up")
        case .encryptionFailed:
            return APIError(.internalServerError, code: "encryption_failed", "The key could not be encrypted")
        }
    }

    /// Authentication and account errors. Another organization's resource is never a 403: the
    /// services report it as not found.
    static func from(_ error: AuthError) -> APIError {
        switch error {
        case .unauthenticated(let message):
            return APIError(.unauthorized, code: "unauthorized", message)
        case .forbidden(let message):
            return APIError(.forbidden, code: "forbidden", message)
        case .invalid(let code, let message):
            return .badRequest(message, code: code)
        case .emailTaken:
            return APIError(.conflict, code: "email_taken", "An account with this email already exists")
        case .rateLimited(let seconds):
            return APIError(
                .tooManyRequests, code: "rate_limited", "Too many attempts; retry in \(seconds) s", retryAfterSeconds: seconds)
        case .unavailable(let message):
            return APIError(.notFound, code: "not_available", message)
        case .identityProviderFailed(let message):
            return APIError(.badGateway, code: "identity_provider_failed", message)
        }
    }

    var envelope: ErrorEnvelope {
        ErrorEnvelope(
            error: .init(code: code, message: message), title: status.reasonPhrase, status: status.code,
            detail: message, code: code, retryAfterSeconds: retryAfterSeconds)
    }

    func response(headers: HTTPFields = [:]) -> Response {
        var headers = headers
        headers[.contentType] = "application/json"
        if let retryAfterSeconds { headers[.retryAfter] = String(retryAfterSeconds) }
        if status == .unauthorized { headers[.wwwAuthenticate] = "Bearer" }
        let body = (try? JSONEncoder().encode(envelope)) ?? Data(#"{"error":{"code":"internal_error"}}"#.utf8)
        return Response(status: status, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(bytes: body)))
    }
}

/// The one error body of the API.
struct ErrorEnvelope: Codable, Sendable {
    struct Detail: Codable, Sendable {
        var code: String
        var message: String
    }

    var error: Detail
    var title: String
    var status: Int
    var detail: String
    var code: String
    var retryAfterSeconds: Int?

    enum CodingKeys: String, CodingKey {
        case error, title, status, detail, code
        case retryAfterSeconds = "retry_after_seconds"
    }
}

/// Turns every thrown error, and the router's own 404/405, into the error envelope.
struct ErrorEnvelopeMiddleware<Context: RequestContext>: RouterMiddleware {
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws
        -> Response
    {
        do {
            return try await next(request, context)
        } catch {
            let apiError = APIError.from(error)
            if apiError.status.code >= 500 {
                context.logger.error("request failed", metadata: ErrorLogSummary.metadata(error))
            }
            // A 413 is answered before the body is read; the rest of it must not be read as the
            // next request, so the connection ends after this response (`CloseAfterResponseHandler`).
            let headers: HTTPFields = apiError.status == .contentTooLarge ? [.connection: "close"] : [:]
            return apiError.response(headers: headers)
        }
    }
}
