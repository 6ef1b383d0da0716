import AsyncHTTPClient
import Logging

/// The exporters and pipelines the settings describe.
extension TracingSettings {
    func makeEncoder() -> OTLPTraceEncoder {
        OTLPTraceEncoder(resourceAttributes: resource, scopeName: "keel", scopeVersion: sdkVersion)
    }

    /// The exporter for one destination.
    func makeExporter(
        for destination: TraceDestination, encoder: OTLPTraceEncoder, httpClient: HTTPClient, logger: Logger
    ) throws -> any SpanExporter {
        switch (destination.kind, destination.transport) {
        case (.console, _):
            return ConsoleSpanExporter(logger: logger)
        case (_, .grpc):
            return try OTLPGRPCExporter(
                endpoint: destination.endpoint, headers: destination.headers, encoder: encoder,
                timeout: destination.timeout, insecure: destination.insecure, logger: logger)
        case (_, .httpProtobuf):
            return OTLPHTTPExporter(
                endpoint: destination.endpoint, headers: destination.headers, encoder: encoder, httpClient: httpClient,
                timeout: destination.timeout, logger: logger)
        }
    }

    /// One independent pipeline per destination. Run each (they are `Service`s) and publish to
    /// them through a `SpanFanOut`. A destination whose exporter cannot be built is logged and skipped.
    func makePipelines(httpClient: HTTPClient, logger: Logger) -> [ExportPipeline] {
        let encoder = makeEncoder()
        return targets.compactMap { destination in
            var destinationLogger = logger
            destinationLogger[metadataKey: "trace.destination"] = "\(destination.name)"
            do {
                let exporter = try makeExporter(
                    for: destination, encoder: encoder, httpClient: httpClient, logger: destinationLogger)
                return ExportPipeline(name: destination.name, exporter: exporter, configuration: pipeline, logger: logger)
            } catch {
                destinationLogger.error("trace destination disabled", metadata: ["error": "\(error)"])
                return nil
            }
        }
    }
}
