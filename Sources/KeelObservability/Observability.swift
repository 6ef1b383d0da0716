import AsyncHTTPClient
import KeelCore
import Logging
import ServiceLifecycle

/// KeelObservability's one entry point: everything the settings ask for, built without any
/// network work (the Braintrust project lookup runs inside the export service's `run()`).
///
/// The server hands ``eventObservers`` to its store, runs ``services`` (register them before the
/// engine's: a `ServiceGroup` stops services in reverse order, so the engine's last events still
/// reach the traces), and serves ``metrics`` on `GET /metrics` when Prometheus is on.
public struct Observability: Sendable {
    /// Observers for every stored event: Prometheus series and the trace publisher.
    public let eventObservers: [any EventObserver]
    /// The export destinations (drained together on shutdown), then the trace publisher.
    public let services: [any Service]
    /// The Prometheus registry, or nil when `ENABLE_PROMETHEUS_METRICS` is off.
    public let metrics: KeelMetrics?
    /// Logs every stored event a reader skipped as undecodable, and counts it in
    /// `keel_event_decode_failures_total` when Prometheus is on.
    public let decodeFailures: EventDecodeFailureReporter

    public init(settings: ObservabilitySettings, logger: Logger, httpClient: HTTPClient = .shared) {
        var observers: [any EventObserver] = []
        var services: [any Service] = []
        let metrics = settings.prometheusEnabled ? KeelMetrics() : nil
        var decodeFailureReporters = [EventDecodeFailureReporter.logging(logger)]
        if let metrics {
            decodeFailureReporters.append(
                EventDecodeFailureReporter { failure, consumer in
                    metrics.recordEventDecodeFailure(type: failure.eventType, consumer: consumer)
                })
        }
        let decodeFailures = EventDecodeFailureReporter.all(decodeFailureReporters)
        if let metrics {
            observers.append(metrics.makeEventObserver(decodeFailures: decodeFailures))
        }
        for warning in settings.tracing.warnings { logger.warning("\(warning)") }

        var destinations: [TracePublisher.Destination] = []
        var exporters: [any Service] = []
        let pipelines = settings.tracing.makePipelines(httpClient: httpClient, logger: logger)
        for pipeline in pipelines {
            exporters.append(pipeline)
            metrics?.registerDroppedSpansSource(destination: pipeline.name) { pipeline.stats.droppedSpansTotal }
        }
        if !pipelines.isEmpty {
            // Encoding once pays off as soon as two destinations send the bytes (OTLP/HTTP; the
            // gRPC exporter hands grpc-swift a message and the console prints records).
            let protobufDestinations = settings.tracing.targets.filter {
                $0.kind != .console && $0.transport == .httpProtobuf
            }.count
            let fanOut = SpanFanOut(
                pipelines: pipelines, encoder: protobufDestinations > 1 ? settings.tracing.makeEncoder() : nil)
            destinations.append(
                .init(name: "otlp", acceptsContent: settings.tracing.captureContent) { fanOut.publish($0) })
            logger.info(
                "trace export enabled",
                metadata: [
                    "destinations": "\(pipelines.map(\.name).joined(separator: ","))",
                    "capture_content": "\(settings.tracing.captureContent)",
                ])
        }
        if let braintrust = settings.braintrust {
            let listener = BraintrustListener(configuration: braintrust, httpClient: httpClient, logger: logger)
            exporters.append(listener)
            metrics?.registerDroppedSpansSource(destination: "braintrust") { listener.stats.droppedSpansTotal }
            destinations.append(.init(name: "braintrust", acceptsContent: braintrust.recordContent) { listener.submit($0) })
        }
        if !destinations.isEmpty {
            services.append(ExportServices(exporters))
            let publisher = TracePublisher(
                options: TraceOptions(
                    captureContent: destinations.contains(where: \.acceptsContent),
                    onMetadataCollision: { collision in
                        logger.warning(
                            "request metadata keys collide with runtime keys; the runtime values win",
                            metadata: [
                                "session_id": "\(collision.sessionID)", "turn_id": "\(collision.turnID)",
                                "keys": "\(collision.keys.joined(separator: ","))",
                            ])
                    }, decodeFailures: decodeFailures),
                destinations: destinations)
            metrics?.registerDroppedTraceEventsSource { publisher.droppedEventsTotal }
            observers.append(publisher)
            services.append(publisher)
        }
        self.eventObservers = observers
        self.services = services
        self.metrics = metrics
        self.decodeFailures = decodeFailures
    }
}
