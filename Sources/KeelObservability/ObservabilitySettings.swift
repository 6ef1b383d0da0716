import KeelCore

/// Observability settings read from the environment: OTLP trace destinations (`OTEL_*`,
/// `OTEL_TARGETS`, `LANGFUSE_*`, `PHOENIX_*`, see `TracingSettings`), Braintrust (`BRAINTRUST_*`,
/// see `BraintrustSettings`) and Prometheus (`ENABLE_PROMETHEUS_METRICS`). The server's
/// configuration composes it; `Observability(settings:logger:)` builds what it asks for.
public struct ObservabilitySettings: Sendable {
    var tracing: TracingSettings
    var braintrust: BraintrustSettings?
    /// `ENABLE_PROMETHEUS_METRICS`: serve `GET /metrics`; default false.
    public var prometheusEnabled: Bool

    init(tracing: TracingSettings, braintrust: BraintrustSettings? = nil, prometheusEnabled: Bool = false) {
        self.tracing = tracing
        self.braintrust = braintrust
        self.prometheusEnabled = prometheusEnabled
    }

    /// Reads every observability variable; the first unusable one is the error.
    /// `deploymentGrade` is copied into Braintrust rows, `serviceVersion` is the OTel
    /// `service.version` unless `OTEL_SERVICE_VERSION` says otherwise.
    public init(
        environment: [String: String], deploymentGrade: String, serviceVersion: String = KeelCore.version
    ) throws(ConfigurationError) {
        let prometheus = try EnvironmentReader(environment: environment).bool("ENABLE_PROMETHEUS_METRICS", default: false)
        self.init(
            tracing: try TracingSettings(environment: environment, defaultServiceVersion: serviceVersion),
            braintrust: try BraintrustSettings(environment: environment, deploymentGrade: deploymentGrade),
            prometheusEnabled: prometheus)
    }

    /// Whether any trace destination or Braintrust wants spans at all.
    public var wantsSpans: Bool { tracing.isEnabled || braintrust != nil }
}
