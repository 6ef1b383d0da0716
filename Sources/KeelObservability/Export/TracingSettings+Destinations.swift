import Foundation
import KeelCore

// MARK: - The three OTLP destinations

extension TracingSettings {
    static func langfuse(
        _ env: EnvironmentReader, timeout: Duration, sdkVersion: String
    ) throws(ConfigurationError) -> TraceDestination {
        let baseVariable = env.value("LANGFUSE_BASE_URL") == nil && env.value("LANGFUSE_HOST") != nil ? "LANGFUSE_HOST" : "LANGFUSE_BASE_URL"
        var base = try validatedURL(env.value(baseVariable) ?? defaultLangfuseBaseURL, variable: baseVariable)
        while base.hasSuffix("/") { base.removeLast() }
        let endpoint: String
        if base.hasSuffix("/api/public/otel/v1/traces") {
            endpoint = base
        } else if base.hasSuffix("/api/public/otel") {
            endpoint = base + "/v1/traces"
        } else {
            endpoint = base + "/api/public/otel/v1/traces"
        }
        guard let publicKey = env.value("LANGFUSE_PUBLIC_KEY") else {
            throw ConfigurationError(
                variable: "LANGFUSE_PUBLIC_KEY", message: "required when OTEL_TARGETS includes LANGFUSE")
        }
        guard let secretKey = env.value("LANGFUSE_SECRET_KEY") else {
            throw ConfigurationError(
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

    static func phoenix(
        _ env: EnvironmentReader, timeout: Duration, warnings: inout [String]
    ) throws(ConfigurationError) -> TraceDestination {
        var endpoint = try validatedURL(
            env.value("PHOENIX_COLLECTOR_ENDPOINT") ?? defaultPhoenixEndpoint, variable: "PHOENIX_COLLECTOR_ENDPOINT")
        if let components = URLComponents(string: endpoint), components.path.isEmpty || components.path == "/" {
            while endpoint.hasSuffix("/") { endpoint.removeLast() }
            endpoint += "/v1/traces"
        }
        var headers = OTelKeyValueList.headers(env.value("PHOENIX_CLIENT_HEADERS"), variable: "PHOENIX_CLIENT_HEADERS", warnings: &warnings)
        if let apiKey = env.value("PHOENIX_API_KEY") {
            OTelKeyValueList.setHeader(&headers, "Authorization", "Bearer \(apiKey)")
        }
        if let project = env.value("PHOENIX_PROJECT_NAME") {
            OTelKeyValueList.setHeader(&headers, "x-project-name", project)
        }
        return TraceDestination(kind: .phoenix, endpoint: endpoint, transport: .httpProtobuf, headers: headers, timeout: timeout)
    }

    static func generic(
        _ env: EnvironmentReader, timeout: Duration, warnings: inout [String]
    ) throws(ConfigurationError) -> TraceDestination {
        let protocolVariable =
            env.value("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL") != nil ? "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL" : "OTEL_EXPORTER_OTLP_PROTOCOL"
        var transport: TraceTransport?
        if let name = env.value(protocolVariable) {
            switch name.lowercased() {
            case "grpc": transport = .grpc
            case "http/protobuf": transport = .httpProtobuf
            case "http/json":
                throw ConfigurationError(
                    variable: protocolVariable, message: "http/json is not supported, use http/protobuf or grpc")
            default:
                throw ConfigurationError(
                    variable: protocolVariable, message: "expected grpc or http/protobuf (got \(quoted(name)))")
            }
        }

        var tracesEndpoint: String?
        if let raw = env.value("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") {
            tracesEndpoint = try validatedURL(raw, variable: "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", allowMissingScheme: true)
        }
        var baseEndpoint: String?
        if let raw = env.value("OTEL_EXPORTER_OTLP_ENDPOINT") {
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

        var headers = OTelKeyValueList.headers(env.value("OTEL_EXPORTER_OTLP_HEADERS"), variable: "OTEL_EXPORTER_OTLP_HEADERS", warnings: &warnings)
        for header in OTelKeyValueList.headers(
            env.value("OTEL_EXPORTER_OTLP_TRACES_HEADERS"), variable: "OTEL_EXPORTER_OTLP_TRACES_HEADERS", warnings: &warnings)
        {
            OTelKeyValueList.setHeader(&headers, header.name, header.value)
        }
        for variable in ["OTEL_EXPORTER_OTLP_TRACES_COMPRESSION", "OTEL_EXPORTER_OTLP_COMPRESSION"] {
            if let compression = env.value(variable), compression.lowercased() != "none" {
                warnings.append("\(variable)=\(quoted(compression)) is not supported; spans are sent uncompressed")
            }
        }
        let insecure = EnvironmentReader.isTrue(env.value("OTEL_EXPORTER_OTLP_TRACES_INSECURE") ?? env.value("OTEL_EXPORTER_OTLP_INSECURE"))

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
}
