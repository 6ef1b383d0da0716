import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2
import GRPCProtobuf
import Logging
import ServiceLifecycle

/// An exporter that owns long-lived connections which must be run in a task.
/// `ExportPipeline.run()` runs `runConnections()` next to its worker and calls
/// `beginGracefulShutdown()` after its final flush, so such exporters need no separate service.
protocol ConnectionOwningSpanExporter: SpanExporter {
    /// Runs the connections; returns after `beginGracefulShutdown()` once in-flight calls finish.
    func runConnections() async throws
    func beginGracefulShutdown()
}

/// Sends spans over OTLP/gRPC: the unary `opentelemetry.proto.collector.trace.v1.TraceService/Export`
/// call, with the generated request message from `OTLPTraceEncoder` (GRPCProtobuf serializes it).
/// The response is kept as raw bytes and read only for a partial-success warning, so a collector's
/// malformed response body does not turn an accepted batch into a failed one.
///
/// `http://` endpoints (or scheme-less ones with `insecure`) use plaintext HTTP/2, `https://` TLS with
/// the system trust roots. Status mapping follows the OTLP spec's retryable codes: UNAVAILABLE,
/// RESOURCE_EXHAUSTED, DEADLINE_EXCEEDED, ABORTED, OUT_OF_RANGE and DATA_LOSS are
/// `ExportError.retryable`; anything else is permanent.
///
/// The gRPC client only makes progress while `runConnections()` runs: inside an `ExportPipeline`
/// that happens automatically; on its own, run the exporter as a ServiceLifecycle `Service`.
/// Metadata values (credentials) are never logged.
final class OTLPGRPCExporter: ConnectionOwningSpanExporter, Service, CustomStringConvertible {
    static let exportMethod = MethodDescriptor(
        fullyQualifiedService: "opentelemetry.proto.collector.trace.v1.TraceService", method: "Export")

    /// The endpoint as configured (e.g. `http://127.0.0.1:4317`).
    let endpoint: String
    let timeout: Duration
    private let host: String
    private let port: Int
    private let metadata: Metadata
    private let headerNames: [String]
    private let encoder: OTLPTraceEncoder
    private let client: GRPCClient<HTTP2ClientTransport.Posix>
    private let logger: Logger

    /// - Parameters:
    ///   - endpoint: `http://host:port`, `https://host:port` or `host:port`; the port defaults to 4317;
    ///     any path is ignored (gRPC routes by method name).
    ///   - insecure: for scheme-less endpoints only, plaintext instead of TLS
    ///     (`OTEL_EXPORTER_OTLP_INSECURE`).
    ///   - headers: sent as gRPC metadata (names lower-cased).
    /// - Throws: `ExportError.permanent` when the endpoint cannot be parsed.
    init(
        endpoint: String, headers: [(name: String, value: String)] = [], encoder: OTLPTraceEncoder,
        timeout: Duration = .seconds(10), insecure: Bool = false, logger: Logger = Logger(label: "keel.otlp.grpc")
    ) throws {
        let target = try Self.parseEndpoint(endpoint, insecure: insecure)
        self.endpoint = endpoint
        self.host = target.host
        self.port = target.port
        self.timeout = timeout
        self.encoder = encoder
        self.logger = logger
        var metadata = Metadata()
        for header in headers {
            metadata.replaceOrAddString(header.value, forKey: header.name.lowercased())
        }
        self.metadata = metadata
        self.headerNames = headers.map { $0.name.lowercased() }
        let transport = try HTTP2ClientTransport.Posix(
            target: .dns(host: target.host, port: target.port),
            transportSecurity: target.plaintext ? .plaintext : .tls)
        self.client = GRPCClient(transport: transport)
    }

    var description: String {
        "OTLPGRPCExporter(endpoint: \(otlpRedactedURL(endpoint)), metadata: \(headerNames))"
    }

    func runConnections() async throws {
        try await client.runConnections()
    }

    func beginGracefulShutdown() {
        client.beginGracefulShutdown()
    }

    /// Standalone use: runs the connections until graceful shutdown.
    func run() async throws {
        try await withGracefulShutdownHandler {
            try await client.runConnections()
        } onGracefulShutdown: { [client] in
            client.beginGracefulShutdown()
        }
    }

    func export(_ spans: [SpanRecord]) async throws {
        guard !spans.isEmpty else { return }
        let request = ClientRequest(message: encoder.request(spans), metadata: metadata)
        var options = CallOptions.defaults
        options.timeout = timeout
        options.maxRequestMessageBytes = 16 * 1024 * 1024
        let response: [UInt8]
        do {
            response = try await client.unary(
                request: request, descriptor: Self.exportMethod,
                serializer: ProtobufSerializer<OTLPExportTraceServiceRequest>(), deserializer: PassthroughDeserializer(),
                options: options
            ) { response in
                try response.message
            }
        } catch let error as RPCError {
            throw Self.classify(error, isCancelled: Task.isCancelled)
        } catch {
            if error is CancellationError || Task.isCancelled { throw CancellationError() }
            logger.debug("OTLP/gRPC export attempt failed", metadata: ["otlp.endpoint": "\(host):\(port)", "error": "\(error)"])
            throw ExportError.retryable(status: nil, retryAfter: nil)
        }
        if let partial = OTLPPartialSuccess(responseBody: response, contentType: "application/protobuf") {
            logger.warning(
                "OTLP endpoint rejected part of a batch",
                metadata: [
                    "otlp.endpoint": "\(host):\(port)", "otlp.rejected_spans": "\(partial.rejectedSpans)",
                    "otlp.error_message": "\(partial.errorMessage)",
                ])
        }
    }

    /// Maps a gRPC status to an `ExportError`; the `status` carried is the gRPC code number.
    static func classify(_ error: RPCError, isCancelled: Bool) -> any Error {
        if isCancelled { return CancellationError() }
        switch error.code {
        case .unavailable, .resourceExhausted, .deadlineExceeded, .aborted, .outOfRange, .dataLoss:
            return ExportError.retryable(status: error.code.rawValue, retryAfter: nil)
        default:
            return ExportError.permanent(status: error.code.rawValue, detail: "gRPC \(error.code): \(error.message.prefix(300))")
        }
    }

    static func parseEndpoint(_ endpoint: String, insecure: Bool) throws -> (host: String, port: Int, plaintext: Bool) {
        let trimmed = endpoint.trimmingCharacters(in: .whitespaces)
        let hasScheme = trimmed.contains("://")
        guard let components = URLComponents(string: hasScheme ? trimmed : "grpc://" + trimmed),
            let host = components.host, !host.isEmpty
        else {
            throw ExportError.permanent(status: nil, detail: "invalid OTLP/gRPC endpoint \(otlpRedactedURL(trimmed))")
        }
        let plaintext: Bool
        switch components.scheme?.lowercased() {
        case "http": plaintext = true
        case "https": plaintext = false
        case "grpc" where !hasScheme: plaintext = insecure
        default:
            throw ExportError.permanent(status: nil, detail: "OTLP/gRPC endpoint must use http:// or https://")
        }
        let bareHost = host.hasPrefix("[") && host.hasSuffix("]") ? String(host.dropFirst().dropLast()) : host
        return (bareHost, components.port ?? 4317, plaintext)
    }
}

/// The response is kept as raw protobuf (read only for partial success).
struct PassthroughDeserializer: MessageDeserializer {
    func deserialize<Bytes: GRPCContiguousBytes>(_ serializedMessageBytes: Bytes) throws -> [UInt8] {
        serializedMessageBytes.withUnsafeBytes { Array($0) }
    }
}
