import AsyncHTTPClient
import KeelCore
import KeelObservability
import Logging
import ServiceLifecycle

/// The observability pieces the settings ask for: event observers for the store, the services
/// that export (run before the engine, so they stop after it), and the metrics registry.
struct ObservabilityAssembly {
    var observers: [any EventObserver] = []
    /// Export destinations (drained together on shutdown) and then the trace publisher.
    var services: [any Service] = []
    var metrics: KeelMetrics?

    static func make(_ settings: ObservabilitySettings, logger: Logger) async -> ObservabilityAssembly {
        var assembly = ObservabilityAssembly()
        let metrics = settings.prometheusEnabled ? KeelMetrics() : nil
        if let metrics {
            assembly.metrics = metrics
            assembly.observers.append(metrics.makeEventObserver())
        }
        for warning in settings.tracing.warnings { logger.warning("\(warning)") }

        var destinations: [TracePublisher.Destination] = []
        let pipelines = settings.tracing.makePipelines(httpClient: .shared, logger: logger)
        var exporters: [any Service] = []
        for pipeline in pipelines {
            exporters.append(pipeline)
            metrics?.registerDroppedSpansSource(destination: pipeline.name) { pipeline.stats.droppedSpansTotal }
        }
        if !pipelines.isEmpty {
            let fanOut = SpanFanOut(pipelines: pipelines)
            destinations.append(
                .init(name: "otlp", acceptsContent: settings.tracing.captureContent) { fanOut.publish($0) })
            logger.info(
                "trace export enabled",
                metadata: ["destinations": "\(pipelines.map(\.name).joined(separator: ","))",
                           "capture_content": "\(settings.tracing.captureContent)"])
        }
        if let braintrust = settings.braintrust,
            let listener = await BraintrustListener.start(configuration: braintrust, httpClient: .shared, logger: logger)
        {
            exporters.append(listener)
            metrics?.registerDroppedSpansSource(destination: "braintrust") { listener.stats.droppedSpansTotal }
            destinations.append(.init(name: "braintrust", acceptsContent: braintrust.recordContent) { listener.submit($0) })
        }
        guard !destinations.isEmpty else { return assembly }
        assembly.services.append(ExportServices(exporters))

        let captureContent = destinations.contains(where: \.acceptsContent)
        let publisher = TracePublisher(
            options: TraceOptions(
                captureContent: captureContent,
                onMetadataCollision: { collision in
                    logger.warning(
                        "request metadata keys collide with runtime keys; the runtime values win",
                        metadata: ["session_id": "\(collision.sessionID)", "turn_id": "\(collision.turnID)",
                                   "keys": "\(collision.keys.joined(separator: ","))"])
                }),
            destinations: destinations)
        assembly.observers.append(publisher)
        assembly.services.append(publisher)
        return assembly
    }
}
