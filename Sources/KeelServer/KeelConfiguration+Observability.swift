import KeelCore
import KeelObservability

/// Observability settings: OTLP trace destinations (`OTEL_*`, `OTEL_TARGETS`, `LANGFUSE_*`,
/// `PHOENIX_*`), Braintrust (`BRAINTRUST_*`) and Prometheus (`ENABLE_PROMETHEUS_METRICS`).
/// Their own parsers name the offending variable; the errors are carried over unchanged.
public struct ObservabilitySettings: Sendable {
    public var tracing: TracingConfiguration
    public var braintrust: BraintrustConfiguration?
    public var prometheusEnabled: Bool

    /// Whether any trace destination or Braintrust wants spans at all.
    public var wantsSpans: Bool { tracing.isEnabled || braintrust != nil }

    static func parse(
        _ environment: [String: String], deploymentGrade: DeploymentGrade, prometheus: Bool
    ) throws(ConfigurationError) -> ObservabilitySettings {
        let tracing: TracingConfiguration
        do {
            tracing = try TracingConfiguration(environment: environment, defaultServiceVersion: KeelCore.version)
        } catch {
            throw ConfigurationError(variable: error.variable, message: error.message)
        }
        let braintrust: BraintrustConfiguration?
        do {
            braintrust = try BraintrustConfiguration.fromEnvironment(environment, deploymentGrade: deploymentGrade.rawValue)
        } catch {
            throw ConfigurationError(variable: error.variable, message: error.message)
        }
        return ObservabilitySettings(tracing: tracing, braintrust: braintrust, prometheusEnabled: prometheus)
    }
}
