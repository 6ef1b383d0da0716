import KeelCore

/// Tracing settings read from the environment: where spans go (fan-out to any of Langfuse,
/// Phoenix, a generic OTLP endpoint and the console), the OTel resource, and content capture.
///
/// Variables (Aegra's names, Everruns' names and the standard OTLP exporter ones):
/// - `OTEL_TARGETS`: comma list of `LANGFUSE`, `PHOENIX`, `GENERIC` (aliases `OTLP`, `DEFAULT`),
///   and `CONSOLE` (same as `OTEL_CONSOLE_EXPORT=true`), case-insensitive; unknown names give a warning. Unset or blank: `GENERIC` if an OTLP endpoint
///   variable is set (Everruns), otherwise nothing.
/// - Langfuse: `LANGFUSE_BASE_URL` (fallback `LANGFUSE_HOST`, default `https://cloud.langfuse.com`),
///   `LANGFUSE_PUBLIC_KEY`, `LANGFUSE_SECRET_KEY` (both required when targeted). OTLP/HTTP to
///   `{base}/api/public/otel/v1/traces` with `Authorization: Basic base64(pk:sk)` and
///   `x-langfuse-ingestion-version: 4`.
/// - Phoenix: `PHOENIX_COLLECTOR_ENDPOINT` (default `http://127.0.0.1:6006/v1/traces`; `/v1/traces`
///   is appended when the URL has no path), `PHOENIX_API_KEY` (`Authorization: Bearer`),
///   `PHOENIX_CLIENT_HEADERS` (`k=v,…`), `PHOENIX_PROJECT_NAME` (`x-project-name`).
/// - Generic: `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` (used as given) or `OTEL_EXPORTER_OTLP_ENDPOINT`
///   (a base: HTTP appends `/v1/traces` unless already there); `OTEL_EXPORTER_OTLP_[TRACES_]PROTOCOL`
///   `grpc` or `http/protobuf` (`http/json` is refused). Without a protocol, an endpoint with a path
///   or port 4318 means HTTP, any other endpoint gRPC (Everruns exports its endpoint over gRPC),
///   and no endpoint at all means HTTP to `http://localhost:4318/v1/traces`.
///   `OTEL_EXPORTER_OTLP_[TRACES_]HEADERS` (`k=v,…`, percent-decoded), `_INSECURE`, `_TIMEOUT` (ms).
/// - `OTEL_CONSOLE_EXPORT=true`: also log each span (swift-log).
/// - Resource: `OTEL_SERVICE_NAME` (default `keel-server`), `OTEL_SERVICE_VERSION` (default: the
///   caller's version), `OTEL_ENVIRONMENT` (`deployment.environment.name`),
///   `OTEL_RESOURCE_ATTRIBUTES` (`k=v,…`; the explicit variables win over the same keys here).
/// - Content capture: `OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT` in `true`, `SPAN_ONLY`,
///   `SPAN_AND_EVENT` (when set it decides), else `OTEL_RECORD_CONTENT=true`
///   (`TraceOptions.captureContent(environment:)`).
///
/// Parsing lives in `TracingSettings+Environment.swift` (the destinations in
/// `+Destinations.swift`); the exporters built from it in `TracingSettings+Pipelines.swift`.
/// - Batching: `OTEL_BSP_SCHEDULE_DELAY`, `OTEL_BSP_EXPORT_TIMEOUT` (ms), `OTEL_BSP_MAX_QUEUE_SIZE`,
///   `OTEL_BSP_MAX_EXPORT_BATCH_SIZE`. `OTEL_SDK_DISABLED=true` turns every destination off.
struct TracingSettings: Sendable {
    var targets: [TraceDestination]
    var captureContent: Bool
    var serviceName: String
    var serviceVersion: String
    /// `deployment.environment.name`, if any.
    var environment: String?
    /// Further resource attributes (from `OTEL_RESOURCE_ATTRIBUTES`, minus the keys above).
    var resourceAttributes: [(key: String, value: String)]
    /// Problems that did not stop tracing (unknown target names, ignored variables); log them.
    var warnings: [String]
    /// Queue, batch and retry settings used for every destination.
    var pipeline: ExportPipeline.Configuration
    /// Keel's own version, sent as the Langfuse SDK version.
    var sdkVersion: String

    init(
        targets: [TraceDestination] = [], captureContent: Bool = false, serviceName: String = "keel-server",
        serviceVersion: String, environment: String? = nil, resourceAttributes: [(key: String, value: String)] = [],
        warnings: [String] = [], pipeline: ExportPipeline.Configuration = .init(), sdkVersion: String? = nil
    ) {
        self.targets = targets
        self.captureContent = captureContent
        self.serviceName = serviceName
        self.serviceVersion = serviceVersion
        self.environment = environment
        self.resourceAttributes = resourceAttributes
        self.warnings = warnings
        self.pipeline = pipeline
        self.sdkVersion = sdkVersion ?? serviceVersion
    }

    /// True when spans go anywhere at all.
    var isEnabled: Bool { !targets.isEmpty }
    var consoleExport: Bool { targets.contains { $0.kind == .console } }

    /// The OTel resource: `service.name`, `service.version`, `deployment.environment.name`, then the rest.
    var resource: [(key: String, value: AttributeValue)] {
        var resource: [(key: String, value: AttributeValue)] = [
            ("service.name", .string(serviceName)), ("service.version", .string(serviceVersion)),
        ]
        if let environment { resource.append(("deployment.environment.name", .string(environment))) }
        resource += resourceAttributes.map { ($0.key, .string($0.value)) }
        return resource
    }
}
