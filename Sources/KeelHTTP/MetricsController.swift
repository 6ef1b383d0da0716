import Hummingbird
import KeelObservability

/// Everything the HTTP layer measures, in one place: the unprefixed, unauthenticated
/// `GET /metrics`, the request middleware and the open-streams gauge. With `metrics` nil
/// (`ENABLE_PROMETHEUS_METRICS` off) it installs nothing and the gauge does nothing.
struct MetricsController: Sendable {
    let metrics: KeelMetrics?

    /// Call first when building the router. Hummingbird applies a middleware only to routes added
    /// after it, so `/metrics` itself, registered before any middleware, is not counted (scrapes
    /// would otherwise dominate the request counts) and gets no CORS or error envelope (it cannot
    /// fail).
    func addRoutes(to router: Router<KeelRequestContext>) {
        guard let metrics else { return }
        router.get("metrics") { _, _ in
            Response(
                status: .ok, headers: [.contentType: KeelMetrics.contentType],
                body: ResponseBody(byteBuffer: ByteBuffer(bytes: metrics.renderBytes())))
        }
        router.add(middleware: HTTPMetricsMiddleware(metrics: metrics))
    }

    var streamGauge: StreamGauge { StreamGauge(metrics: metrics) }
}

/// `keel_sse_streams_active`: a stream calls `opened()` when it starts and `closed()` when it ends.
struct StreamGauge: Sendable {
    let metrics: KeelMetrics?

    func opened() { metrics?.sseStreamOpened() }

    func closed() { metrics?.sseStreamClosed() }
}
