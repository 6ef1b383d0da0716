import Hummingbird
import KeelObservability

extension KeelAPI {
    /// Installs metrics when `metrics` is set (`ENABLE_PROMETHEUS_METRICS`): the unprefixed,
    /// unauthenticated `GET /metrics`, then `HTTPMetricsMiddleware` for every route added after it.
    ///
    /// Call first in `makeRouter()`. Hummingbird applies a middleware only to routes added after
    /// it, so `/metrics` itself, registered before any middleware, is not counted (scrapes would
    /// otherwise dominate the request counts) and gets no CORS or error envelope (it cannot fail).
    func installMetrics(on router: Router<BasicRequestContext>) {
        guard let metrics else { return }
        router.get("metrics") { _, _ in
            Response(
                status: .ok, headers: [.contentType: KeelMetrics.contentType],
                body: ResponseBody(byteBuffer: ByteBuffer(bytes: metrics.renderBytes())))
        }
        router.add(middleware: HTTPMetricsMiddleware(metrics: metrics))
    }

    /// Marks an SSE stream as open in `keel_sse_streams_active`; pair with `sseStreamClosed()`.
    func sseStreamOpened() { metrics?.sseStreamOpened() }

    /// Marks an SSE stream as closed in `keel_sse_streams_active`.
    func sseStreamClosed() { metrics?.sseStreamClosed() }
}
