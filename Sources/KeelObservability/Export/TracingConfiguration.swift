import AsyncHTTPClient
import Foundation
import Logging

/// A tracing variable that cannot be used; `variable` names it. Secret values are never quoted.
public struct TracingConfigurationError: Error, Sendable, Equatable, CustomStringConvertible {
    public let variable: String
    public let message: String

    public init(variable: String, message: String) {
        self.variable = variable
        self.message = message
    }

    public var description: String { "\(variable): \(message)" }
}

/// How spans travel to a destination.
public enum TraceTransport: String, Sendable, Hashable {
    case httpProtobuf = "http/protobuf"
    case grpc
}

/// One place spans are sent. Header values hold credentials: `description` and `customMirror`
/// show header names only, so logging or dumping a destination is safe.
public struct TraceDestination: Sendable, CustomStringConvertible, CustomReflectable {
    public enum Kind: String, Sendable, Hashable, CaseIterable {
        case langfuse, phoenix, generic, console
    }

    public var kind: Kind
    /// The full traces URL for HTTP, `scheme://host:port` for gRPC, empty for the console.
    public var endpoint: String
    public var transport: TraceTransport
    public var headers: [(name: String, value: String)]
    /// Per-request timeout.
    public var timeout: Duration
    /// gRPC only: plaintext for an endpoint given without a scheme.
    public var insecure: Bool

    public init(
        kind: Kind, endpoint: String = "", transport: TraceTransport = .httpProtobuf,
        headers: [(name: String, value: String)] = [], timeout: Duration = .seconds(10), insecure: Bool = false
    ) {
        self.kind = kind
        self.endpoint = endpoint
        self.transport = transport
        self.headers = headers
        self.timeout = timeout
        self.insecure = insecure
    }

    /// `langfuse`, `phoenix`, `generic` or `console`: the pipeline's name in logs and metrics.
    public var name: String { kind.rawValue }

    /// The value of a header, matched case-insensitively.
    public func header(_ name: String) -> String? {
        headers.last { $0.name.lowercased() == name.lowercased() }?.value
    }

    public var description: String {
        kind == .console
            ? "console"
            : "\(name) \(transport.rawValue) \(otlpRedactedURL(endpoint)) headers=\(headers.map(\.name))"
    }

    public var customMirror: Mirror {
        Mirror(
            self,
            children: [
                "kind": kind, "endpoint": otlpRedactedURL(endpoint), "transport": transport,
                "headerNames": headers.map(\.name), "timeout": timeout, "insecure": insecure,
            ])
    }
}

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
/// - Batching: `OTEL_BSP_SCHEDULE_DELAY`, `OTEL_BSP_EXPORT_TIMEOUT` (ms), `OTEL_BSP_MAX_QUEUE_SIZE`,
///   `OTEL_BSP_MAX_EXPORT_BATCH_SIZE`. `OTEL_SDK_DISABLED=true` turns every destination off.
public struct TracingConfiguration: Sendable {
    public var targets: [TraceDestination]
    public var captureContent: Bool
    public var serviceName: String
    public var serviceVersion: String
    /// `deployment.environment.name`, if any.
    public var environment: String?
    /// Further resource attributes (from `OTEL_RESOURCE_ATTRIBUTES`, minus the keys above).
    public var resourceAttributes: [(key: String, value: String)]
    /// Problems that did not stop tracing (unknown target names, ignored variables); log them.
    public var warnings: [String]
    /// Queue, batch and retry settings used for every destination.
    public var pipeline: ExportPipeline.Configuration
    /// Keel's own version, sent as the Langfuse SDK version.
    public var sdkVersion: String

    public init(
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
    public var isEnabled: Bool { !targets.isEmpty }
    public var consoleExport: Bool { targets.contains { $0.kind == .console } }

    /// The OTel resource: `service.name`, `service.version`, `deployment.environment.name`, then the rest.
    public var resource: [(key: String, value: AttributeValue)] {
        var resource: [(key: String, value: AttributeValue)] = [
            ("service.name", .string(serviceName)), ("service.version", .string(serviceVersion)),
        ]
        if let environment { resource.append(("deployment.environment.name", .string(environment))) }
        resource += resourceAttributes.map { ($0.key, .string($0.value)) }
        return resource
    }

    public func makeEncoder() -> OTLPTraceEncoder {
        OTLPTraceEncoder(resourceAttributes: resource, scopeName: "keel", scopeVersion: sdkVersion)
    }

    /// The exporter for one destination.
    public func makeExporter(
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
    public func makePipelines(httpClient: HTTPClient, logger: Logger) -> [ExportPipeline] {
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

// MARK: - Parsing

extension TracingConfiguration {
    public static let defaultServiceName = "keel-server"
    public static let defaultLangfuseBaseURL = "https://cloud.langfuse.com"
    public static let defaultPhoenixEndpoint = "http://127.0.0.1:6006/v1/traces"
    public static let defaultOTLPHTTPEndpoint = "http://localhost:4318/v1/traces"

    /// Reads the variables listed on the type. Throws for unusable settings of a targeted
    /// destination (missing Langfuse keys, a bad URL, an unsupported protocol); anything merely
    /// odd becomes a `warnings` entry.
    public init(environment env: [String: String], defaultServiceVersion: String) throws(TracingConfigurationError) {
        func value(_ key: String) -> String? {
            guard let raw = env[key]?.trimmingCharacters(in: .whitespacesAndNewlines), !raw.isEmpty else { return nil }
            return raw
        }
        var warnings: [String] = []

        // Resource.
        var extra = Self.parseKeyValueList(
            value("OTEL_RESOURCE_ATTRIBUTES"), variable: "OTEL_RESOURCE_ATTRIBUTES", warnings: &warnings)
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
        let captureContent = TraceOptions.captureContent(environment: env)

        // Timeouts and batching.
        let timeoutVariable =
            value("OTEL_EXPORTER_OTLP_TRACES_TIMEOUT") != nil ? "OTEL_EXPORTER_OTLP_TRACES_TIMEOUT" : "OTEL_EXPORTER_OTLP_TIMEOUT"
        let timeoutMilliseconds = try Self.positiveInt(value(timeoutVariable), variable: timeoutVariable) ?? 10_000
        let timeout = Duration.milliseconds(timeoutMilliseconds)
        var pipeline = ExportPipeline.Configuration(exportTimeout: timeout + .seconds(1))
        if let delay = try Self.positiveInt(value("OTEL_BSP_SCHEDULE_DELAY"), variable: "OTEL_BSP_SCHEDULE_DELAY") {
            pipeline.flushInterval = .milliseconds(delay)
        }
        if let exportTimeout = try Self.positiveInt(value("OTEL_BSP_EXPORT_TIMEOUT"), variable: "OTEL_BSP_EXPORT_TIMEOUT") {
            pipeline.exportTimeout = .milliseconds(exportTimeout)
        }
        if let size = try Self.positiveInt(value("OTEL_BSP_MAX_QUEUE_SIZE"), variable: "OTEL_BSP_MAX_QUEUE_SIZE") {
            pipeline.maxQueueSize = size
        }
        if let size = try Self.positiveInt(
            value("OTEL_BSP_MAX_EXPORT_BATCH_SIZE"), variable: "OTEL_BSP_MAX_EXPORT_BATCH_SIZE")
        {
            pipeline.maxBatchSize = size
        }
        if pipeline.maxBatchSize > pipeline.maxQueueSize {
            warnings.append("OTEL_BSP_MAX_EXPORT_BATCH_SIZE is larger than the queue; using \(pipeline.maxQueueSize)")
            pipeline.maxBatchSize = pipeline.maxQueueSize
        }

        self.init(
            targets: [], captureContent: captureContent,
            serviceName: value("OTEL_SERVICE_NAME") ?? resourceServiceName ?? Self.defaultServiceName,
            serviceVersion: value("OTEL_SERVICE_VERSION") ?? resourceServiceVersion ?? defaultServiceVersion,
            environment: value("OTEL_ENVIRONMENT") ?? resourceEnvironment ?? resourceLegacyEnvironment,
            resourceAttributes: extra, warnings: [], pipeline: pipeline, sdkVersion: defaultServiceVersion)

        if Self.isTrue(value("OTEL_SDK_DISABLED")) {
            self.warnings = warnings
            return
        }

        // Which destinations.
        let genericEndpointSet = value("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") != nil || value("OTEL_EXPORTER_OTLP_ENDPOINT") != nil
        var kinds: [TraceDestination.Kind] = []
        if let list = value("OTEL_TARGETS") {
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
                        "OTEL_TARGETS: unknown target \(Self.quoted(name)) ignored (expected LANGFUSE, PHOENIX or GENERIC)")
                    continue
                }
                if !kinds.contains(kind) { kinds.append(kind) }
            }
            if genericEndpointSet, !kinds.contains(.generic) {
                warnings.append("OTEL_EXPORTER_OTLP_ENDPOINT is set but OTEL_TARGETS does not include GENERIC; it is ignored")
            }
        } else if genericEndpointSet {
            kinds = [.generic]
        }

        for kind in kinds {
            switch kind {
            case .langfuse: targets.append(try Self.langfuse(value, timeout: timeout, sdkVersion: defaultServiceVersion))
            case .phoenix: targets.append(try Self.phoenix(value, timeout: timeout, warnings: &warnings))
            case .generic: targets.append(try Self.generic(value, timeout: timeout, warnings: &warnings))
            case .console: break
            }
        }
        if Self.isTrue(value("OTEL_CONSOLE_EXPORT")) || kinds.contains(.console) {
            targets.append(TraceDestination(kind: .console, timeout: timeout))
        }
        self.warnings = warnings
    }

    private static func langfuse(
        _ value: (String) -> String?, timeout: Duration, sdkVersion: String
    ) throws(TracingConfigurationError) -> TraceDestination {
        let baseVariable = value("LANGFUSE_BASE_URL") == nil && value("LANGFUSE_HOST") != nil ? "LANGFUSE_HOST" : "LANGFUSE_BASE_URL"
        var base = try validatedURL(value(baseVariable) ?? defaultLangfuseBaseURL, variable: baseVariable)
        while base.hasSuffix("/") { base.removeLast() }
        let endpoint: String
        if base.hasSuffix("/api/public/otel/v1/traces") {
            endpoint = base
        } else if base.hasSuffix("/api/public/otel") {
            endpoint = base + "/v1/traces"
        } else {
            endpoint = base + "/api/public/otel/v1/traces"
        }
        guard let publicKey = value("LANGFUSE_PUBLIC_KEY") else {
            throw TracingConfigurationError(
                variable: "LANGFUSE_PUBLIC_KEY", message: "required when OTEL_TARGETS includes LANGFUSE")
        }
        guard let secretKey = value("LANGFUSE_SECRET_KEY") else {
            throw TracingConfigurationError(
                variable: "LANGFUSE_SECRET_KEY", message: "required when OTEL_TARGETS includes LANGFUSE")
        }
        let credentials = Data("\(publicKey):\(secretKey)".utf8).base64EncodedString()
        return TraceDestination(
            kind: .langfuse, endpoint: endpoint, transport: .httpProtobuf,
            headers: [
                ("Authorization", "Basic \(credentials)"),
                // Without it, directly ingested OTel data can show up minutes late; above 4 is a 400.
                ("x-langfuse-ingestion-version", "4"),
                ("x-langfuse-sdk-name", "keel"),
                ("x-langfuse-sdk-version", sdkVersion),
            ],
            timeout: timeout)
    }

    private static func phoenix(
        _ value: (String) -> String?, timeout: Duration, warnings: inout [String]
    ) throws(TracingConfigurationError) -> TraceDestination {
        var endpoint = try validatedURL(
            value("PHOENIX_COLLECTOR_ENDPOINT") ?? defaultPhoenixEndpoint, variable: "PHOENIX_COLLECTOR_ENDPOINT")
        if let components = URLComponents(string: endpoint), components.path.isEmpty || components.path == "/" {
            while endpoint.hasSuffix("/") { endpoint.removeLast() }
            endpoint += "/v1/traces"
        }
        var headers = parseHeaders(value("PHOENIX_CLIENT_HEADERS"), variable: "PHOENIX_CLIENT_HEADERS", warnings: &warnings)
        if let apiKey = value("PHOENIX_API_KEY") {
            setHeader(&headers, "Authorization", "Bearer \(apiKey)")
        }
        if let project = value("PHOENIX_PROJECT_NAME") {
            setHeader(&headers, "x-project-name", project)
        }
        return TraceDestination(kind: .phoenix, endpoint: endpoint, transport: .httpProtobuf, headers: headers, timeout: timeout)
    }

    private static func generic(
        _ value: (String) -> String?, timeout: Duration, warnings: inout [String]
    ) throws(TracingConfigurationError) -> TraceDestination {
        let protocolVariable =
            value("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL") != nil ? "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL" : "OTEL_EXPORTER_OTLP_PROTOCOL"
        var transport: TraceTransport?
        if let name = value(protocolVariable) {
            switch name.lowercased() {
            case "grpc": transport = .grpc
            case "http/protobuf": transport = .httpProtobuf
            case "http/json":
                throw TracingConfigurationError(
                    variable: protocolVariable, message: "http/json is not supported, use http/protobuf or grpc")
            default:
                throw TracingConfigurationError(
                    variable: protocolVariable, message: "expected grpc or http/protobuf (got \(quoted(name)))")
            }
        }

        var tracesEndpoint: String?
        if let raw = value("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") {
            tracesEndpoint = try validatedURL(raw, variable: "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", allowMissingScheme: true)
        }
        var baseEndpoint: String?
        if let raw = value("OTEL_EXPORTER_OTLP_ENDPOINT") {
            baseEndpoint = try validatedURL(raw, variable: "OTEL_EXPORTER_OTLP_ENDPOINT", allowMissingScheme: true)
        }
        let given = tracesEndpoint ?? baseEndpoint
        if transport == nil {
            if let given, let components = URLComponents(string: given.contains("://") ? given : "http://" + given) {
                let hasPath = !components.path.isEmpty && components.path != "/"
                transport = hasPath || components.port == 4318 ? .httpProtobuf : .grpc
            } else {
                transport = .httpProtobuf
            }
        }

        var headers = parseHeaders(value("OTEL_EXPORTER_OTLP_HEADERS"), variable: "OTEL_EXPORTER_OTLP_HEADERS", warnings: &warnings)
        for header in parseHeaders(
            value("OTEL_EXPORTER_OTLP_TRACES_HEADERS"), variable: "OTEL_EXPORTER_OTLP_TRACES_HEADERS", warnings: &warnings)
        {
            setHeader(&headers, header.name, header.value)
        }
        for variable in ["OTEL_EXPORTER_OTLP_TRACES_COMPRESSION", "OTEL_EXPORTER_OTLP_COMPRESSION"] {
            if let compression = value(variable), compression.lowercased() != "none" {
                warnings.append("\(variable)=\(quoted(compression)) is not supported; spans are sent uncompressed")
            }
        }
        let insecure = isTrue(value("OTEL_EXPORTER_OTLP_TRACES_INSECURE") ?? value("OTEL_EXPORTER_OTLP_INSECURE"))

        let endpoint: String
        switch transport ?? .httpProtobuf {
        case .grpc:
            endpoint = given ?? "http://localhost:4317"
            if let components = URLComponents(string: endpoint), !components.path.isEmpty, components.path != "/" {
                warnings.append("the OTLP endpoint's path is ignored for gRPC")
            }
        case .httpProtobuf:
            if let tracesEndpoint {
                endpoint = tracesEndpoint.contains("://") ? tracesEndpoint : "http://" + tracesEndpoint
            } else if var base = baseEndpoint {
                if !base.contains("://") { base = "http://" + base }
                while base.hasSuffix("/") { base.removeLast() }
                // The spec appends v1/traces to the base; Aegra documents the full URL here, so accept both.
                endpoint = base.hasSuffix("/v1/traces") ? base : base + "/v1/traces"
            } else {
                endpoint = defaultOTLPHTTPEndpoint
            }
        }
        return TraceDestination(
            kind: .generic, endpoint: endpoint, transport: transport ?? .httpProtobuf, headers: headers, timeout: timeout,
            insecure: insecure)
    }

    // MARK: Helpers

    /// `k=v,k2=v2` with percent-encoded keys and values (W3C Baggage style, as the OTel
    /// environment spec uses). Bad entries are skipped with a warning that never quotes them.
    static func parseKeyValueList(
        _ text: String?, variable: String, warnings: inout [String]
    ) -> [(key: String, value: String)] {
        guard let text else { return [] }
        var pairs: [(key: String, value: String)] = []
        for (index, entry) in text.split(separator: ",").enumerated() {
            let entry = entry.trimmingCharacters(in: .whitespaces)
            guard !entry.isEmpty else { continue }
            guard let equals = entry.firstIndex(of: "=") else {
                warnings.append("\(variable): entry \(index + 1) has no '=' and was ignored")
                continue
            }
            let key = percentDecoded(entry[..<equals].trimmingCharacters(in: .whitespaces))
            let value = percentDecoded(entry[entry.index(after: equals)...].trimmingCharacters(in: .whitespaces))
            guard !key.isEmpty else {
                warnings.append("\(variable): entry \(index + 1) has an empty name and was ignored")
                continue
            }
            pairs.append((key, value))
        }
        return pairs
    }

    static func parseHeaders(
        _ text: String?, variable: String, warnings: inout [String]
    ) -> [(name: String, value: String)] {
        var headers: [(name: String, value: String)] = []
        for (index, pair) in parseKeyValueList(text, variable: variable, warnings: &warnings).enumerated() {
            let tokenCharacters = CharacterSet(charactersIn: "!#$%&'*+-.^_`|~").union(.alphanumerics)
            guard pair.key.unicodeScalars.allSatisfy({ $0.isASCII && tokenCharacters.contains($0) }) else {
                warnings.append("\(variable): header \(index + 1) has an invalid name and was ignored")
                continue
            }
            guard !pair.value.unicodeScalars.contains(where: { $0 == "\r" || $0 == "\n" || $0 == "\0" }) else {
                warnings.append("\(variable): header \(quoted(pair.key)) has an invalid value and was ignored")
                continue
            }
            setHeader(&headers, pair.key, pair.value)
        }
        return headers
    }

    private static func setHeader(_ headers: inout [(name: String, value: String)], _ name: String, _ value: String) {
        headers.removeAll { $0.name.lowercased() == name.lowercased() }
        headers.append((name, value))
    }

    private static func percentDecoded(_ text: String) -> String {
        text.removingPercentEncoding ?? text
    }

    private static func validatedURL(
        _ raw: String, variable: String, allowMissingScheme: Bool = false
    ) throws(TracingConfigurationError) -> String {
        let candidate = allowMissingScheme && !raw.contains("://") ? "http://" + raw : raw
        guard let components = URLComponents(string: candidate), let scheme = components.scheme?.lowercased(),
            scheme == "http" || scheme == "https", let host = components.host, !host.isEmpty
        else {
            throw TracingConfigurationError(
                variable: variable, message: "expected an http:// or https:// URL (got \(quoted(otlpRedactedURL(raw))))")
        }
        return raw
    }

    private static func positiveInt(_ raw: String?, variable: String) throws(TracingConfigurationError) -> Int? {
        guard let raw else { return nil }
        guard let number = Int(raw), number > 0 else {
            throw TracingConfigurationError(variable: variable, message: "expected a positive integer (got \(quoted(raw)))")
        }
        return number
    }

    static func isTrue(_ raw: String?) -> Bool {
        guard let raw else { return false }
        return ["true", "1", "yes", "on"].contains(raw.lowercased())
    }

    private static func quoted(_ text: String, limit: Int = 60) -> String {
        let clipped = text.count > limit ? String(text.prefix(limit)) + "…" : text
        return "\"" + clipped.replacingOccurrences(of: "\"", with: "\\\"") + "\""
    }
}
