import Foundation
import KeelCore
import Prometheus
import Synchronization

/// Keel's Prometheus metrics: one `PrometheusCollectorRegistry` and every metric family the
/// server exposes on `GET /metrics`.
///
/// The registry is used directly (not through swift-metrics) so every family carries a `# HELP`
/// line and a promtool-clean name (`_total` on counters, `_seconds` on durations):
/// `promtool check metrics` exits 0 on `render()`.
///
/// Families (a family appears once its first series is recorded; `keel_sse_streams_active`
/// is there from the start):
/// - `keel_http_requests_total{method,route,status}`, `keel_http_request_duration_seconds{method,route,status}`
/// - `keel_turns_total{outcome}`, `keel_turn_duration_seconds{outcome}`
/// - `keel_llm_calls_total{provider,model,outcome}`, `keel_llm_call_duration_seconds{provider,model}`,
///   `keel_llm_time_to_first_token_seconds{provider,model}`, `keel_llm_tokens_total{provider,model,type}`
/// - `keel_tool_calls_total{tool,outcome}`, `keel_tool_duration_seconds{tool}`
/// - `keel_sse_streams_active`
/// - `keel_trace_export_dropped_spans_total{destination}`
/// - `keel_trace_publisher_dropped_events_total` (events the trace publisher's full queue refused)
/// - `keel_durable_*` and `keel_circuit_breaker_*`: the durable engine's queue, workers, claims,
///   reclaims, dead letters and breakers (see `KeelMetrics+Durable.swift`)
/// - `keel_event_decode_failures_total{consumer,type}` (stored events a reader skipped because
///   their data did not decode)
///
/// Label values that come from outside (model names, tool names the model asked for, export
/// destinations) are capped per label at `maxDistinctLabelValues` distinct values; later ones
/// are reported as `_other`, so a misbehaving model cannot explode the series count.
public final class KeelMetrics: Sendable {
    /// The `Content-Type` of `render()`'s output (Prometheus text exposition format 0.0.4).
    public static let contentType = "text/plain; version=0.0.4; charset=utf-8"

    /// The value a capped label takes once its distinct-value budget is spent.
    static let overflowLabelValue = "_other"
    /// The `route` label of requests no route matched.
    static let unmatchedRoute = "unmatched"

    let registry: PrometheusCollectorRegistry
    let maxDistinctLabelValues: Int

    private let sseStreams: Gauge
    private let models: MetricsLabelBudget
    private let tools: MetricsLabelBudget
    private let providers: MetricsLabelBudget
    private let destinations: MetricsLabelBudget
    private let eventTypes: MetricsLabelBudget
    private let droppedSpans = Mutex(DroppedSpansState())
    /// The durable engine's series (`KeelMetrics+Durable.swift`).
    let durable: DurableSeries

    /// - Parameters:
    ///   - registry: where the families are registered; pass a shared one to expose other
    ///     collectors on the same page.
    ///   - maxDistinctLabelValues: budget of distinct values for each externally supplied label
    ///     (model, tool, provider, destination).
    init(registry: PrometheusCollectorRegistry = PrometheusCollectorRegistry(), maxDistinctLabelValues: Int = 200) {
        self.registry = registry
        self.maxDistinctLabelValues = maxDistinctLabelValues
        self.models = MetricsLabelBudget(limit: maxDistinctLabelValues)
        self.tools = MetricsLabelBudget(limit: maxDistinctLabelValues)
        self.providers = MetricsLabelBudget(limit: maxDistinctLabelValues)
        self.destinations = MetricsLabelBudget(limit: maxDistinctLabelValues)
        self.eventTypes = MetricsLabelBudget(limit: maxDistinctLabelValues)
        self.sseStreams = registry.makeGauge(descriptor: Family.sseStreamsActive)
        self.durable = DurableSeries(keys: MetricsLabelBudget(limit: maxDistinctLabelValues))
    }

    // MARK: Rendering

    /// The registry in Prometheus text format. Polls the registered dropped-span sources first.
    func render() -> String {
        String(decoding: renderBytes(), as: UTF8.self)
    }

    /// `render()` as UTF-8 bytes, for a response body.
    public func renderBytes() -> [UInt8] {
        pollDroppedSpanSources()
        var buffer: [UInt8] = []
        buffer.reserveCapacity(16 * 1024)
        registry.emit(into: &buffer)
        return buffer
    }

    // MARK: HTTP

    /// Records one finished HTTP request.
    /// - Parameters:
    ///   - method: the request method; anything but the standard methods becomes `_OTHER`.
    ///   - route: the matched route template (`/v1/sessions/{id}`); nil or Hummingbird's
    ///     `NotFound` becomes `unmatched`, so raw paths never become label values.
    ///   - status: the response status code.
    ///   - duration: time until the response head was ready.
    public func recordHTTPRequest(method: String, route: String?, status: Int, duration: Duration) {
        let labels = [
            ("method", Self.normalizedMethod(method)), ("route", Self.normalizedRoute(route)), ("status", String(status)),
        ]
        registry.makeCounter(descriptor: Family.httpRequests, labels: labels).increment()
        registry.makeValueHistogram(descriptor: Family.httpRequestDuration, labels: labels, buckets: Buckets.http)
            .record(duration.inSeconds)
    }

    static let standardMethods: Set<String> = ["GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH"]

    static func normalizedMethod(_ method: String) -> String {
        let upper = method.uppercased()
        return standardMethods.contains(upper) ? upper : "_OTHER"
    }

    static func normalizedRoute(_ route: String?) -> String {
        guard let route, !route.isEmpty, route != "NotFound" else { return unmatchedRoute }
        return route
    }

    // MARK: Turns

    /// How a turn ended: the `outcome` label of the turn families.
    enum TurnOutcome: String, Sendable, CaseIterable {
        case completed, failed, cancelled
    }

    /// Records a finished turn; `duration` nil counts it without observing a duration.
    func recordTurn(outcome: TurnOutcome, duration: Duration?) {
        let labels = [("outcome", outcome.rawValue)]
        registry.makeCounter(descriptor: Family.turns, labels: labels).increment()
        if let duration {
            registry.makeValueHistogram(descriptor: Family.turnDuration, labels: labels, buckets: Buckets.turn)
                .record(max(0, duration.inSeconds))
        }
    }

    // MARK: LLM calls

    /// Records one model call. Durations are observed for successful calls only (a failed call's
    /// duration measures the failure, not the model); tokens are counted when `usage` is given.
    func recordLLMCall(
        provider: String, model: String, success: Bool, duration: Duration?, timeToFirstToken: Duration?, usage: Usage?
    ) {
        let provider = providers.admit(provider)
        let model = models.admit(model)
        registry.makeCounter(
            descriptor: Family.llmCalls,
            labels: [("provider", provider), ("model", model), ("outcome", success ? "success" : "error")]
        ).increment()
        let labels = [("provider", provider), ("model", model)]
        if success, let duration {
            registry.makeValueHistogram(descriptor: Family.llmCallDuration, labels: labels, buckets: Buckets.llmCall)
                .record(max(0, duration.inSeconds))
        }
        if success, let timeToFirstToken {
            registry.makeValueHistogram(descriptor: Family.llmTimeToFirstToken, labels: labels, buckets: Buckets.timeToFirstToken)
                .record(max(0, timeToFirstToken.inSeconds))
        }
        if let usage {
            let counts = [
                ("input", usage.inputTokens), ("output", usage.outputTokens),
                ("cache_read", usage.cacheReadTokens), ("cache_creation", usage.cacheCreationTokens),
            ]
            for (type, count) in counts {
                registry.makeCounter(descriptor: Family.llmTokens, labels: labels + [("type", type)])
                    .increment(by: Int64(max(0, count)))
            }
        }
    }

    // MARK: Tools

    /// How a tool call ended: the `outcome` label of `keel_tool_calls_total`.
    enum ToolOutcome: String, Sendable, CaseIterable {
        case success, error, timeout, cancelled

        /// Maps `tool.completed`'s `status`; unknown statuses count as errors.
        init(status: String?) {
            self = status.flatMap(ToolOutcome.init(rawValue:)) ?? .error
        }
    }

    /// Records one tool call. Calls cancelled before they ran (`cancelled`) observe no duration.
    func recordToolCall(tool: String, outcome: ToolOutcome, duration: Duration?) {
        let tool = tools.admit(tool)
        registry.makeCounter(descriptor: Family.toolCalls, labels: [("tool", tool), ("outcome", outcome.rawValue)])
            .increment()
        if outcome != .cancelled, let duration {
            registry.makeValueHistogram(descriptor: Family.toolDuration, labels: [("tool", tool)], buckets: Buckets.tool)
                .record(max(0, duration.inSeconds))
        }
    }

    /// What a turn waited on for one call.
    enum WaitKind: String, Sendable {
        case clientTool = "client_tool", question, approval
    }

    /// How the wait for one call ended.
    enum WaitOutcome: String, Sendable {
        case answered, approved, rejected, timedOut = "timed_out", superseded, cancelled
    }

    /// Records the end of a turn's wait for one call, with how long it waited (none when cancelled).
    func recordWait(_ kind: WaitKind, outcome: WaitOutcome, duration: Duration?) {
        registry.makeCounter(
            descriptor: Family.waits, labels: [("kind", kind.rawValue), ("outcome", outcome.rawValue)]
        ).increment()
        if let duration {
            registry.makeValueHistogram(
                descriptor: Family.waitDuration, labels: [("kind", kind.rawValue)], buckets: Buckets.wait
            ).record(max(0, duration.inSeconds))
        }
    }

    // MARK: SSE

    /// Call when an SSE stream starts writing; pair with `sseStreamClosed()`.
    public func sseStreamOpened() { sseStreams.increment() }

    /// Call when an SSE stream ends, however it ends.
    public func sseStreamClosed() { sseStreams.decrement() }

    // MARK: Trace export

    /// Adds `count` dropped spans for `destination`. Use either this or the cumulative APIs
    /// below for a given destination, not both.
    func recordDroppedSpans(destination: String, count: Int) {
        registry.makeCounter(descriptor: Family.droppedSpans, labels: [("destination", destinations.admit(destination))])
            .increment(by: Int64(max(0, count)))
    }

    /// Reports a destination's cumulative dropped-span total (e.g. from its export pipeline's
    /// statistics); the counter advances by the difference to the last reported total. A total
    /// lower than the last one means the source restarted: it is counted as new drops.
    func setDroppedSpans(destination: String, total: Int) {
        let total = max(0, total)
        let delta = droppedSpans.withLock { state -> Int in
            let last = state.lastTotals[destination] ?? 0
            state.lastTotals[destination] = total
            return total >= last ? total - last : total
        }
        recordDroppedSpans(destination: destination, count: delta)
    }

    /// Registers a cumulative dropped-span total that `render()` reads on every scrape (through
    /// `setDroppedSpans`), so no periodic task is needed. Replaces an earlier source for the same
    /// destination. The series appears at once, at 0.
    func registerDroppedSpansSource(destination: String, total: @escaping @Sendable () -> Int) {
        droppedSpans.withLock { $0.sources[destination] = total }
        recordDroppedSpans(destination: destination, count: 0)
    }

    /// Registers the trace publisher's cumulative dropped-event total (`TracePublisher`'s
    /// `droppedEventsTotal`), read on every scrape as `keel_trace_publisher_dropped_events_total`.
    /// The series appears at once, at 0.
    func registerDroppedTraceEventsSource(total: @escaping @Sendable () -> Int) {
        droppedSpans.withLock { $0.droppedEventsSource = total }
        registry.makeCounter(descriptor: Family.droppedTraceEvents).increment(by: Int64(0))
    }

    private func pollDroppedSpanSources() {
        let (sources, eventsSource) = droppedSpans.withLock { ($0.sources, $0.droppedEventsSource) }
        for (destination, total) in sources {
            setDroppedSpans(destination: destination, total: total())
        }
        if let eventsSource {
            let total = max(0, eventsSource())
            let delta = droppedSpans.withLock { state -> Int in
                defer { state.lastDroppedEvents = total }
                return total >= state.lastDroppedEvents ? total - state.lastDroppedEvents : total
            }
            registry.makeCounter(descriptor: Family.droppedTraceEvents).increment(by: Int64(delta))
        }
    }

    private struct DroppedSpansState {
        var lastTotals: [String: Int] = [:]
        var sources: [String: @Sendable () -> Int] = [:]
        var droppedEventsSource: (@Sendable () -> Int)?
        var lastDroppedEvents = 0
    }

    // MARK: Events

    /// Counts one stored event that `consumer` skipped because its data did not decode.
    func recordEventDecodeFailure(type: EventType, consumer: String) {
        registry.makeCounter(
            descriptor: Family.eventDecodeFailures,
            labels: [("consumer", consumer), ("type", eventTypes.admit(type.rawValue))]
        ).increment()
    }

    /// An observer that feeds the turn, LLM, token and tool families from the event log; events
    /// whose data does not decode are reported to `decodeFailures` (consumer `metrics`).
    func makeEventObserver(decodeFailures: EventDecodeFailureReporter) -> EventMetricsObserver {
        EventMetricsObserver(metrics: self, decodeFailures: decodeFailures)
    }
}

// MARK: Families and buckets

extension KeelMetrics {
    /// Computed: `MetricNameDescriptor` is not `Sendable`, so it cannot be a stored static.
    enum Family {
        static var httpRequests: MetricNameDescriptor {
            MetricNameDescriptor(
                namespace: "keel", subsystem: "http", metricName: "requests", unitName: "total",
                helpText: "HTTP requests served, by method, route template and status code.")
        }
        static var httpRequestDuration: MetricNameDescriptor {
            MetricNameDescriptor(
                namespace: "keel", subsystem: "http", metricName: "request_duration", unitName: "seconds",
                helpText: "Time until the HTTP response head was ready (for SSE, the stream set-up only), by method, route template and status code.")
        }
        static var turns: MetricNameDescriptor {
            MetricNameDescriptor(
                namespace: "keel", metricName: "turns", unitName: "total",
                helpText: "Agent turns finished, by outcome (completed, failed, cancelled).")
        }
        static var turnDuration: MetricNameDescriptor {
            MetricNameDescriptor(
                namespace: "keel", metricName: "turn_duration", unitName: "seconds",
                helpText: "Agent turn duration from turn.started to its terminal event, by outcome.")
        }
        static var llmCalls: MetricNameDescriptor {
            MetricNameDescriptor(
                namespace: "keel", subsystem: "llm", metricName: "calls", unitName: "total",
                helpText: "Model calls, by provider, model and outcome (success, error).")
        }
        static var llmCallDuration: MetricNameDescriptor {
            MetricNameDescriptor(
                namespace: "keel", subsystem: "llm", metricName: "call_duration", unitName: "seconds",
                helpText: "Duration of successful model calls, by provider and model.")
        }
        static var llmTimeToFirstToken: MetricNameDescriptor {
            MetricNameDescriptor(
                namespace: "keel", subsystem: "llm", metricName: "time_to_first_token", unitName: "seconds",
                helpText: "Time from sending a model call to its first streamed token, by provider and model.")
        }
        static var llmTokens: MetricNameDescriptor {
            MetricNameDescriptor(
                namespace: "keel", subsystem: "llm", metricName: "tokens", unitName: "total",
                helpText: "Tokens reported by model calls, by provider, model and type (input, output, cache_read, cache_creation).")
        }
        static var toolCalls: MetricNameDescriptor {
            MetricNameDescriptor(
                namespace: "keel", subsystem: "tool", metricName: "calls", unitName: "total",
                helpText: "Tool calls, by tool and outcome (success, error, timeout, cancelled).")
        }
        static var toolDuration: MetricNameDescriptor {
            MetricNameDescriptor(
                namespace: "keel", subsystem: "tool", metricName: "duration", unitName: "seconds",
                helpText: "Duration of executed tool calls, by tool.")
        }
        static var waits: MetricNameDescriptor {
            MetricNameDescriptor(
                namespace: "keel", subsystem: "turn", metricName: "waits", unitName: "total",
                helpText:
                    "Calls a turn waited on, by kind (client_tool, question, approval) and outcome (answered, approved, rejected, timed_out, superseded, cancelled).")
        }
        static var waitDuration: MetricNameDescriptor {
            MetricNameDescriptor(
                namespace: "keel", subsystem: "turn", metricName: "wait_duration", unitName: "seconds",
                helpText: "How long turns waited for a client result, an answer or an approval, by kind.")
        }
        static var sseStreamsActive: MetricNameDescriptor {
            MetricNameDescriptor(
                namespace: "keel", subsystem: "sse", metricName: "streams", unitName: "active",
                helpText: "Server-sent event streams currently open.")
        }
        static var droppedSpans: MetricNameDescriptor {
            MetricNameDescriptor(
                namespace: "keel", subsystem: "trace_export", metricName: "dropped_spans", unitName: "total",
                helpText: "Spans dropped by a trace export destination (queue full, export failed), by destination.")
        }
        static var droppedTraceEvents: MetricNameDescriptor {
            MetricNameDescriptor(
                namespace: "keel", subsystem: "trace_publisher", metricName: "dropped_events", unitName: "total",
                helpText: "Stored events the trace publisher dropped because its bounded queue was full.")
        }
        static var eventDecodeFailures: MetricNameDescriptor {
            MetricNameDescriptor(
                namespace: "keel", subsystem: "event", metricName: "decode_failures", unitName: "total",
                helpText: "Stored events skipped by a reader because their data did not decode, by consumer and event type.")
        }
    }

    enum Buckets {
        /// OTel `http.server.request.duration` advice.
        static let http: [Double] = [0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10]
        static let turn: [Double] = [0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 30, 60, 120, 300, 600]
        /// OTel `gen_ai.client.operation.duration` advice.
        static let llmCall: [Double] = [0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92]
        static let timeToFirstToken: [Double] = [0.05, 0.1, 0.25, 0.5, 0.75, 1, 1.5, 2, 3, 5, 7.5, 10, 20, 30]
        static let tool: [Double] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120]
        /// A person answers in seconds to hours.
        static let wait: [Double] = [0.1, 0.5, 1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600, 14400, 86400]
    }
}

/// A bounded set of label values: the first `limit` distinct values pass, later ones become
/// `_other`. Values are trimmed to 128 characters; empty ones become `unknown`.
final class MetricsLabelBudget: Sendable {
    private let limit: Int
    private let seen = Mutex(Set<String>())

    init(limit: Int) {
        self.limit = limit
    }

    func admit(_ raw: String) -> String {
        let value = raw.isEmpty ? "unknown" : String(raw.prefix(128))
        return seen.withLock { seen in
            if seen.contains(value) { return value }
            guard seen.count < limit else { return KeelMetrics.overflowLabelValue }
            seen.insert(value)
            return value
        }
    }
}
