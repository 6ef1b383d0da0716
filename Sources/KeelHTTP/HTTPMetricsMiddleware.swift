import Hummingbird
import KeelObservability

/// Counts every request it wraps in `keel_http_requests_total` and observes
/// `keel_http_request_duration_seconds`, labelled by method, route template and status.
///
/// - The route is Hummingbird's matched template (`context.endpointPath`, e.g.
///   `/v1/sessions/{id}`, including any `API_PREFIX`); requests no route matched are labelled
///   `unmatched`, so raw paths never become label values.
/// - The duration runs until the response head is ready, not until the body is written: an SSE
///   stream counts its set-up only (open streams are `keel_sse_streams_active`).
/// - Install it outside `ErrorEnvelopeMiddleware` so the status is the one the client sees;
///   errors that still escape are recorded with their `HTTPResponseError` status, else 500.
public struct HTTPMetricsMiddleware<Context: RequestContext>: RouterMiddleware {
    public let metrics: KeelMetrics

    public init(metrics: KeelMetrics) {
        self.metrics = metrics
    }

    public func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response)
        async throws -> Response
    {
        let started = ContinuousClock.now
        do {
            let response = try await next(request, context)
            record(request, context, status: response.status, started: started)
            return response
        } catch {
            let status = (error as? any HTTPResponseError)?.status ?? .internalServerError
            record(request, context, status: status, started: started)
            throw error
        }
    }

    private func record(_ request: Request, _ context: Context, status: HTTPResponse.Status, started: ContinuousClock.Instant) {
        metrics.recordHTTPRequest(
            method: request.method.rawValue, route: context.endpointPath, status: status.code,
            duration: ContinuousClock.now - started)
    }
}
