import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2
@testable import KeelObservability
import Synchronization
import Testing

/// A TraceService/Export handler on an in-process grpc-swift-2 server (plaintext, 127.0.0.1,
/// ephemeral port) that records raw request bytes and metadata and can fail the first calls.
final class FakeGRPCTraceService: RegistrableRPCService {
    struct Call: Sendable {
        var metadata: [String: String]
        var body: [UInt8]
    }

    private let calls = Mutex<[Call]>([])
    private let failures = Mutex<[RPCError.Code]>([])

    init(failFirst: [RPCError.Code] = []) {
        failures.withLock { $0 = failFirst }
    }

    var received: [Call] { calls.withLock { $0 } }

    func registerMethods<Transport: ServerTransport>(with router: inout RPCRouter<Transport>) {
        router.registerHandler(
            forMethod: OTLPGRPCExporter.exportMethod, deserializer: ExportRawBytes(), serializer: ExportRawBytes()
        ) { [self] request, _ in
            var body: [UInt8] = []
            for try await message in request.messages { body += message }
            var metadata: [String: String] = [:]
            for (key, value) in request.metadata {
                if case .string(let text) = value { metadata[key] = text }
            }
            calls.withLock { $0.append(Call(metadata: metadata, body: body)) }
            if let code = failures.withLock({ $0.isEmpty ? nil : $0.removeFirst() }) {
                throw RPCError(code: code, message: "scripted failure")
            }
            return StreamingServerResponse(single: ServerResponse(message: []))
        }
    }

    /// Serves until `body` returns, passing the port.
    func serve(_ body: (_ port: Int) async throws -> Void) async throws {
        let transport = HTTP2ServerTransport.Posix(
            address: .ipv4(host: "127.0.0.1", port: 0), transportSecurity: .plaintext)
        let server = GRPCServer(transport: transport, services: [self])
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await server.serve() }
            let port = try #require(try await transport.listeningAddress.ipv4?.port)
            defer { group.cancelAll() }
            try await body(port)
        }
    }
}

struct ExportRawBytes: MessageSerializer, MessageDeserializer {
    func serialize<Bytes: GRPCContiguousBytes>(_ message: [UInt8]) throws -> Bytes { Bytes(message) }
    func deserialize<Bytes: GRPCContiguousBytes>(_ serializedMessageBytes: Bytes) throws -> [UInt8] {
        serializedMessageBytes.withUnsafeBytes { Array($0) }
    }
}

@Suite("Export: OTLP/gRPC exporter")
struct ExportGRPCTests {
    @Test func genericGRPCTargetExportsThroughPipeline() async throws {
        let service = FakeGRPCTraceService(failFirst: [.unavailable])
        try await service.serve { port in
            let configuration = try TracingSettings(
                environment: [
                    "OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:\(port)",
                    "OTEL_EXPORTER_OTLP_HEADERS": "Authorization=Bearer%20grpc-token,X-Tenant=acme",
                    "OTEL_SERVICE_NAME": "keel-grpc",
                ], defaultServiceVersion: "1.0.0")
            #expect(configuration.targets.first?.transport == .grpc)
            var pipelineSettings = configuration
            pipelineSettings.pipeline.flushInterval = .milliseconds(100)
            pipelineSettings.pipeline.initialBackoff = .milliseconds(20)
            let pipelines = pipelineSettings.makePipelines(httpClient: .shared, logger: exportQuietLogger())
            let pipeline = try #require(pipelines.first)
            try await withRunningExportPipelines([pipeline]) {
                pipeline.enqueue([exportTestSpan(1), exportTestSpan(2)])
                #expect(await exportEventually { pipeline.exportedSpans == 2 })
            }
            let calls = service.received
            #expect(calls.count == 2)  // UNAVAILABLE, then retried
            #expect(pipeline.stats.retries == 1)
            let call = try #require(calls.last)
            #expect(call.metadata["authorization"] == "Bearer grpc-token")
            #expect(call.metadata["x-tenant"] == "acme")
            let decoded = try DecodedRequest(call.body)
            #expect(decoded.resource("service.name") == .string("keel-grpc"))
            #expect(decoded.spans.map(\.name) == ["span 1", "span 2"])
        }
    }

    @Test func grpcStatusMapping() async throws {
        let service = FakeGRPCTraceService(failFirst: [.resourceExhausted, .deadlineExceeded, .invalidArgument, .unauthenticated])
        try await service.serve { port in
            let exporter = try OTLPGRPCExporter(
                endpoint: "http://127.0.0.1:\(port)", encoder: exportTestEncoder, timeout: .seconds(30), logger: exportQuietLogger())
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await exporter.runConnections() }
                let spans = [exportTestSpan()]
                await #expect(throws: ExportError.retryable(status: 8, retryAfter: nil)) { try await exporter.export(spans) }
                await #expect(throws: ExportError.retryable(status: 4, retryAfter: nil)) { try await exporter.export(spans) }
                do {
                    try await exporter.export(spans)
                    Issue.record("INVALID_ARGUMENT should throw")
                } catch let ExportError.permanent(status, _) {
                    #expect(status == 3)
                }
                do {
                    try await exporter.export(spans)
                    Issue.record("UNAUTHENTICATED should throw")
                } catch let ExportError.permanent(status, _) {
                    #expect(status == 16)
                }
                try await exporter.export(spans)
                exporter.beginGracefulShutdown()
                try await group.waitForAll()
            }
        }
    }

    @Test func unreachableGRPCEndpointIsRetryable() async throws {
        let exporter = try OTLPGRPCExporter(
            endpoint: "http://127.0.0.1:1", encoder: exportTestEncoder, timeout: .seconds(1), logger: exportQuietLogger())
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await exporter.runConnections() }
            do {
                try await exporter.export([exportTestSpan()])
                Issue.record("an unreachable endpoint should throw")
            } catch let error as ExportError {
                guard case .retryable = error else {
                    Issue.record("expected retryable, got \(error)")
                    return
                }
            }
            exporter.beginGracefulShutdown()
            group.cancelAll()
        }
    }

    @Test func endpointParsing() throws {
        #expect(throws: ExportError.self) {
            try OTLPGRPCExporter(endpoint: "ftp://x:1", encoder: exportTestEncoder)
        }
        #expect(throws: ExportError.self) {
            try OTLPGRPCExporter(endpoint: "http://", encoder: exportTestEncoder)
        }
        let exporter = try OTLPGRPCExporter(
            endpoint: "collector.local", headers: [("authorization", "Bearer s3cret")], encoder: exportTestEncoder)
        #expect(!exporter.description.contains("s3cret"))
    }
}
