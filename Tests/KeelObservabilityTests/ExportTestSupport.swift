import KeelTestSupport
import ServiceLifecycle
import Foundation
import HTTPTypes
import Hummingbird
@testable import KeelObservability
import Logging
import NIOCore
import SwiftProtobuf
import Synchronization

// MARK: - Decoding requests with the generated OTLP messages (the bytes are pinned by the goldens)

struct ProtoDecodeError: Error {}

/// An OTLP AnyValue as the tests compare it.
enum DecodedValue: Equatable {
    case string(String)
    case bool(Bool)
    case int(Int64)
    case double(Double)
    case array([DecodedValue])
    case unknown

    init(_ any: Opentelemetry_Proto_Common_V1_AnyValue) {
        switch any.value {
        case .stringValue(let string)?: self = .string(string)
        case .boolValue(let bool)?: self = .bool(bool)
        case .intValue(let int)?: self = .int(int)
        case .doubleValue(let double)?: self = .double(double)
        case .arrayValue(let array)?: self = .array(array.values.map(DecodedValue.init))
        default: self = .unknown
        }
    }
}

struct DecodedSpan {
    var traceID: [UInt8]
    var spanID: [UInt8]
    var parentSpanID: [UInt8]?
    var name: String
    var kind: UInt64
    var startNanos: UInt64
    var endNanos: UInt64
    var attributes: [(key: String, value: DecodedValue)]
    var statusCode: UInt64
    var statusMessage: String?

    subscript(attribute key: String) -> DecodedValue? { attributes.first { $0.key == key }?.value }
}

struct DecodedRequest {
    var resource: [(key: String, value: DecodedValue)]
    var scopeName: String?
    var scopeVersion: String?
    var spans: [DecodedSpan]

    func resource(_ key: String) -> DecodedValue? { resource.first { $0.key == key }?.value }

    /// Decodes an `ExportTraceServiceRequest` with one ResourceSpans and one ScopeSpans.
    init(_ bytes: [UInt8]) throws {
        let request = try OTLPExportTraceServiceRequest(serializedBytes: bytes)
        guard request.resourceSpans.count == 1, let resourceSpans = request.resourceSpans.first,
            resourceSpans.scopeSpans.count == 1, let scopeSpans = resourceSpans.scopeSpans.first
        else { throw ProtoDecodeError() }
        func keyValues(_ pairs: [Opentelemetry_Proto_Common_V1_KeyValue]) -> [(key: String, value: DecodedValue)] {
            pairs.map { ($0.key, $0.hasValue ? DecodedValue($0.value) : .unknown) }
        }
        func nonEmpty(_ string: String) -> String? { string.isEmpty ? nil : string }
        resource = keyValues(resourceSpans.resource.attributes)
        scopeName = scopeSpans.hasScope ? nonEmpty(scopeSpans.scope.name) : nil
        scopeVersion = scopeSpans.hasScope ? nonEmpty(scopeSpans.scope.version) : nil
        spans = scopeSpans.spans.map { span in
            DecodedSpan(
                traceID: Array(span.traceID), spanID: Array(span.spanID),
                parentSpanID: span.parentSpanID.isEmpty ? nil : Array(span.parentSpanID), name: span.name,
                kind: UInt64(span.kind.rawValue), startNanos: span.startTimeUnixNano, endNanos: span.endTimeUnixNano,
                attributes: keyValues(span.attributes), statusCode: UInt64(span.status.code.rawValue),
                statusMessage: span.hasStatus ? nonEmpty(span.status.message) : nil)
        }
    }
}

// MARK: - A fake OTLP/HTTP collector on 127.0.0.1

struct ExportRecordedRequest: Sendable {
    var path: String
    /// Lower-cased names.
    var headers: [String: String]
    var body: [UInt8]
    var receivedAt: ContinuousClock.Instant
}

enum ExportFakeResponse: Sendable {
    case status(Int, retryAfter: String? = nil, body: String = "")
    case hang(Duration)
}

/// Records every POST and answers from a per-path script (then 200 with an empty protobuf body).
final class ExportFakeCollector: Sendable {
    private let requests = Mutex<[ExportRecordedRequest]>([])
    private let scripts = Mutex<[String: [ExportFakeResponse]]>([:])
    private let defaults = Mutex<[String: ExportFakeResponse]>([:])

    /// Responses for the next requests to `path`, in order.
    func script(_ path: String, _ responses: [ExportFakeResponse]) {
        scripts.withLock { $0[path, default: []].append(contentsOf: responses) }
    }

    /// The response for `path` once its script is used up (default: 200).
    func setDefault(_ path: String, _ response: ExportFakeResponse) {
        defaults.withLock { $0[path] = response }
    }

    func received(_ path: String? = nil) -> [ExportRecordedRequest] {
        requests.withLock { all in path.map { p in all.filter { $0.path == p } } ?? all }
    }

    fileprivate func record(_ request: ExportRecordedRequest) -> ExportFakeResponse {
        requests.withLock { $0.append(request) }
        let scripted = scripts.withLock { scripts -> ExportFakeResponse? in
            guard var queue = scripts[request.path], !queue.isEmpty else { return nil }
            let next = queue.removeFirst()
            scripts[request.path] = queue
            return next
        }
        return scripted ?? defaults.withLock { $0[request.path] } ?? .status(200)
    }

    func makeRouter() -> Router<BasicRequestContext> {
        let router = Router()
        router.post("**") { [self] request, _ -> Response in
            let body = try await request.body.collect(upTo: 32 << 20)
            var headers: [String: String] = [:]
            for field in request.headers {
                headers[field.name.canonicalName] = field.value
            }
            let recorded = ExportRecordedRequest(
                path: request.uri.path, headers: headers, body: Array(buffer: body), receivedAt: .now)
            switch record(recorded) {
            case .hang(let duration):
                try await Task.sleep(for: duration)
                return Response(status: .ok)
            case .status(let code, let retryAfter, let text):
                var fields = HTTPFields()
                if let retryAfter { fields[HTTPField.Name("Retry-After")!] = retryAfter }
                if (200..<300).contains(code) {
                    fields[.contentType] = "application/x-protobuf"
                } else if !text.isEmpty {
                    fields[.contentType] = "text/plain"
                }
                return Response(
                    status: HTTPResponse.Status(code: code), headers: fields,
                    body: .init(byteBuffer: ByteBuffer(string: text)))
            }
        }
        return router
    }

    /// Runs the collector for the duration of `body`, passing `http://127.0.0.1:PORT`.
    func run(_ body: (_ baseURL: String) async throws -> Void) async throws {
        try await LoopbackServer.run(makeRouter(), label: "keel-export-tests.fake-collector") { baseURL, _ in
            try await body(baseURL)
        }
    }
}

// MARK: - Helpers

/// An exporter that records batches in memory, optionally failing first.
final class ExportRecordingExporter: SpanExporter {
    private let batches = Mutex<[[SpanRecord]]>([])
    private let failures = Mutex<[ExportError]>([])

    init(failFirst: [ExportError] = []) {
        failures.withLock { $0 = failFirst }
    }

    func export(_ spans: [SpanRecord]) async throws {
        batches.withLock { $0.append(spans) }
        if let failure = failures.withLock({ $0.isEmpty ? nil : $0.removeFirst() }) {
            throw failure
        }
    }

    var received: [[SpanRecord]] { batches.withLock { $0 } }
    var spanCount: Int { received.reduce(0) { $0 + $1.count } }
}

/// Polls `condition` until it holds or `timeout` passes.
func exportEventually(timeout: Duration = .seconds(15), _ condition: () -> Bool) async -> Bool {
    let deadline = ContinuousClock.now + timeout
    while ContinuousClock.now < deadline {
        if condition() { return true }
        try? await Task.sleep(for: .milliseconds(20))
    }
    return condition()
}

/// Runs the pipelines around `body`, then shuts them down gracefully and waits for them.
func withRunningExportPipelines(_ pipelines: [ExportPipeline], _ body: () async throws -> Void) async throws {
    try await withThrowingTaskGroup(of: Void.self) { group in
        for pipeline in pipelines {
            group.addTask { try await pipeline.run() }
        }
        do {
            try await body()
        } catch {
            group.cancelAll()
            throw error
        }
        for pipeline in pipelines { pipeline.beginGracefulShutdown() }
        try await group.waitForAll()
    }
}

func exportQuietLogger(_ label: String = "keel-export-tests") -> Logger {
    var logger = Logger(label: label)
    logger.logLevel = .critical
    return logger
}

func exportTestSpan(
    _ index: Int = 0, name: String = "span", parent: [UInt8]? = nil,
    attributes: [(key: String, value: AttributeValue)] = []
) -> SpanRecord {
    let start = Date(timeIntervalSince1970: 1_700_000_000 + Double(index))
    return SpanRecord(
        traceID: Array(repeating: 0xAB, count: 16), spanID: (0..<8).map { UInt8(truncatingIfNeeded: index + $0) },
        parentSpanID: parent, name: "\(name) \(index)", kind: .internal, start: start, end: start.addingTimeInterval(0.5),
        attributes: attributes, status: .ok)
}

let exportTestEncoder = OTLPTraceEncoder(
    resourceAttributes: [("service.name", .string("keel-test"))], scopeName: "keel", scopeVersion: "0.0.0-test")

