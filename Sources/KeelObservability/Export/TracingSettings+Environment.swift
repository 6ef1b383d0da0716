import Foundation
import KeelCore

// MARK: - Reading the environment

extension TracingSettings {
    static let defaultServiceName = "keel-server"
    static let defaultLangfuseBaseURL = "https://cloud.langfuse.com"
    static let defaultPhoenixEndpoint = "http://127.0.0.1:6006/v1/traces"
    static let defaultOTLPHTTPEndpoint = "http://localhost:4318/v1/traces"

    /// Reads the variables listed on the type. Throws for unusable settings of a targeted
    /// destination (missing Langfuse keys, a bad URL, an unsupported protocol); anything merely
    /// odd becomes a `warnings` entry.
    init(environment: [String: String], defaultServiceVersion: String) throws(ConfigurationError) {
        let env = EnvironmentReader(environment: environment)
        var warnings: [String] = []

        // Resource.
        var extra = OTelKeyValueList.parse(
            env.value("OTEL_RESOURCE_ATTRIBUTES"), variable: "OTEL_RESOURCE_ATTRIBUTES", warnings: &warnings)
        func take(_ key: String) -> String? {
            let found = extra.last { $0.key == key }?.value
            extra.removeAll { $0.key == key }
            return found
        }
        let resourceServiceName = take("service.name")
        let resourceServiceVersion = take("service.version")
        let resourceEnvironment = take("deployment.environment.name")
        let resourceLegacyEnvironment = take("deployment.environment")

        // Content capture.
        // One rule for the whole module: the span builder reads the same variables.
        let captureContent = TraceOptions.captureContent(environment: environment)

        // Timeouts and batching.
        let timeoutVariable =
            env.value("OTEL_EXPORTER_OTLP_TRACES_TIMEOUT") != nil ? "OTEL_EXPORTER_OTLP_TRACES_TIMEOUT" : "OTEL_EXPORTER_OTLP_TIMEOUT"
        let timeoutMilliseconds = try Self.positiveInt(env, timeoutVariable) ?? 10_000
        let timeout = Duration.milliseconds(timeoutMilliseconds)
        var pipeline = ExportPipeline.Configuration(exportTimeout: timeout + .seconds(1))
        if let delay = try Self.positiveInt(env, "OTEL_BSP_SCHEDULE_DELAY") {
            pipeline.flushInterval = .milliseconds(delay)
        }
        if let exportTimeout = try Self.positiveInt(env, "OTEL_BSP_EXPORT_TIMEOUT") {
            pipeline.exportTimeout = .milliseconds(exportTimeout)
        }
        if let size = try Self.positiveInt(env, "OTEL_BSP_MAX_QUEUE_SIZE") {
            pipeline.maxQueueSize = size
        }
        if let size = try Self.positiveInt(env, "OTEL_BSP_MAX_EXPORT_BATCH_SIZE") {
            pipeline.maxBatchSize = size
        }
        if pipeline.maxBatchSize > pipeline.maxQueueSize {
            warnings.append("OTEL_BSP_MAX_EXPORT_BATCH_SIZE is larger than the queue; using \(pipeline.maxQueueSize)")
            pipeline.maxBatchSize = pipeline.maxQueueSize
        }

        self.init(
            targets: [], captureContent: captureContent,
            serviceName: env.value("OTEL_SERVICE_NAME") ?? resourceServiceName ?? Self.defaultServiceName,
            serviceVersion: env.value("OTEL_SERVICE_VERSION") ?? resourceServiceVersion ?? defaultServiceVersion,
            environment: env.value("OTEL_ENVIRONMENT") ?? resourceEnvironment ?? resourceLegacyEnvironment,
            resourceAttributes: extra, warnings: [], pipeline: pipeline, sdkVersion: defaultServiceVersion)

        if env.flag("OTEL_SDK_DISABLED") {
            self.warnings = warnings
            return
        }

        let kinds = Self.destinationKinds(env, warnings: &warnings)
        for kind in kinds {
            switch kind {
            case .langfuse: targets.append(try Self.langfuse(env, timeout: timeout, sdkVersion: defaultServiceVersion))
            case .phoenix: targets.append(try Self.phoenix(env, timeout: timeout, warnings: &warnings))
            case .generic: targets.append(try Self.generic(env, timeout: timeout, warnings: &warnings))
            case .console: break
            }
        }
        if env.flag("OTEL_CONSOLE_EXPORT") || kinds.contains(.console) {
            targets.append(TraceDestination(kind: .console, timeout: timeout))
        }
        self.warnings = warnings
    }

    /// Which destinations: `OTEL_TARGETS`, else `GENERIC` when an OTLP endpoint variable is set.
    private static func destinationKinds(_ env: EnvironmentReader, warnings: inout [String]) -> [TraceDestination.Kind] {
        let genericEndpointSet =
            env.value("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") != nil || env.value("OTEL_EXPORTER_OTLP_ENDPOINT") != nil
        guard let list = env.value("OTEL_TARGETS") else {
            return genericEndpointSet ? [.generic] : []
        }
        var kinds: [TraceDestination.Kind] = []
        for entry in list.split(separator: ",") {
            let name = entry.trimmingCharacters(in: .whitespaces)
            guard !name.isEmpty else { continue }
            let kind: TraceDestination.Kind
            switch name.uppercased() {
            case "LANGFUSE": kind = .langfuse
            case "PHOENIX": kind = .phoenix
            case "GENERIC", "OTLP", "DEFAULT": kind = .generic
            case "CONSOLE": kind = .console
            default:
                warnings.append(
                    "OTEL_TARGETS: unknown target \(quoted(name)) ignored (expected LANGFUSE, PHOENIX or GENERIC)")
                continue
            }
            if !kinds.contains(kind) { kinds.append(kind) }
        }
        if genericEndpointSet, !kinds.contains(.generic) {
            warnings.append("OTEL_EXPORTER_OTLP_ENDPOINT is set but OTEL_TARGETS does not include GENERIC; it is ignored")
        }
        return kinds
    }

    // MARK: Values

    static func validatedURL(
        _ raw: String, variable: String, allowMissingScheme: Bool = false
    ) throws(ConfigurationError) -> String {
        let candidate = allowMissingScheme && !raw.contains("://") ? "http://" + raw : raw
        guard let components = URLComponents(string: candidate), let scheme = components.scheme?.lowercased(),
            scheme == "http" || scheme == "https", let host = components.host, !host.isEmpty
        else {
            throw ConfigurationError(
                variable: variable, message: "expected an http:// or https:// URL (got \(quoted(otlpRedactedURL(raw))))")
        }
        return raw
    }

    private static func positiveInt(_ env: EnvironmentReader, _ variable: String) throws(ConfigurationError) -> Int? {
        guard let raw = env.value(variable) else { return nil }
        guard let number = Int(raw), number > 0 else {
            throw ConfigurationError(variable: variable, message: "expected a positive integer (got \(quoted(raw)))")
        }
        return number
    }

    /// Values in tracing errors and warnings are clipped shorter than elsewhere: they are often URLs.
    static func quoted(_ text: String) -> String {
        ConfigurationError.quoted(text, limit: 60)
    }
}
