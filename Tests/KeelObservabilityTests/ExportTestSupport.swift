import KeelTestSupport
import ServiceLifecycle
import Foundation
import HTTPTypes
import Hummingbird
@testable import KeelObservability
import Logging
import NIOCore
import Synchronization

// MARK: - A tiny, independent protobuf reader (checks the encoder without trusting its writer)

enum ProtoValue: Equatable {
    case varint(UInt64)
    case fixed64(UInt64)
    case bytes([UInt8])
    case fixed32(UInt32)
}

struct ProtoDecodeError: Error {}

struct ProtoMessage {
    let fields: [(number: Int, value: ProtoValue)]

    init(_ bytes: [UInt8]) throws {
        var fields: [(Int, ProtoValue)] = []
        var i = 0
        func varint() throws -> UInt64 {
            var result: UInt64 = 0
            var shift: UInt64 = 0
            while true {
                guard i < bytes.count, shift < 64 else { throw ProtoDecodeError() }
                let b = bytes[i]
                i += 1
                result |= UInt64(b & 0x7F) << shift
                if b & 0x80 == 0 { return result }
                shift += 7
            }
        }
        func littleEndian(_ n: Int) throws -> UInt64 {
            guard i + n <= bytes.count else { throw ProtoDecodeError() }
            var v: UInt64 = 0
            for k in 0..<n { v |= UInt64(bytes[i + k]) << (8 * UInt64(k)) }
            i += n
            return v
        }
        while i < bytes.count {
            let tag = try varint()
            let number = Int(tag >> 3)
            guard number > 0 else { throw ProtoDecodeError() }
            switch tag & 7 {
            case 0: fields.append((number, .varint(try varint())))
            case 1: fields.append((number, .fixed64(try littleEndian(8))))
            case 2:
                let length = Int(try varint())
                guard length >= 0, i + length <= bytes.count else { throw ProtoDecodeError() }
                fields.append((number, .bytes(Array(bytes[i..<(i + length)]))))
                i += length
            case 5: fields.append((number, .fixed32(UInt32(try littleEndian(4)))))
            default: throw ProtoDecodeError()
            }
        }
        self.fields = fields
    }

    func all(_ number: Int) -> [ProtoValue] { fields.filter { $0.number == number }.map(\.value) }

    func bytes(_ number: Int) -> [UInt8]? {
        guard case .bytes(let b)? = all(number).last else { return nil }
        return b
    }

    func string(_ number: Int) -> String? { bytes(number).map { String(decoding: $0, as: UTF8.self) } }

    func varint(_ number: Int) -> UInt64? {
        guard case .varint(let v)? = all(number).last else { return nil }
        return v
    }

    func fixed64(_ number: Int) -> UInt64? {
        guard case .fixed64(let v)? = all(number).last else { return nil }
        return v
    }

    func message(_ number: Int) throws -> ProtoMessage? { try bytes(number).map(ProtoMessage.init) }

    func messages(_ number: Int) throws -> [ProtoMessage] {
        try all(number).compactMap { value in
            guard case .bytes(let b) = value else { return nil }
            return try ProtoMessage(b)
        }
    }
}

/// An OTLP AnyValue as decoded by the test reader.
enum DecodedValue: Equatable {
    case string(String)
    case bool(Bool)
    case int(Int64)
    case double(Double)
    case array([DecodedValue])
    case unknown

    init(_ any: ProtoMessage) throws {
        guard let first = any.fields.first else {
            self = .unknown
            return
        }
        switch (first.number, first.value) {
        case (1, .bytes(let b)): self = .string(String(decoding: b, as: UTF8.self))
        case (2, .varint(let v)): self = .bool(v != 0)
        case (3, .varint(let v)): self = .int(Int64(bitPattern: v))
        case (4, .fixed64(let v)): self = .double(Double(bitPattern: v))
        case (5, .bytes(let b)): self = .array(try ProtoMessage(b).messages(1).map(DecodedValue.init))
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
        let request = try ProtoMessage(bytes)
        let resourceSpans = try request.messages(1)
        guard resourceSpans.count == 1 else { throw ProtoDecodeError() }
        func keyValues(_ messages: [ProtoMessage]) throws -> [(key: String, value: DecodedValue)] {
            try messages.map { kv in (kv.string(1) ?? "", try kv.message(2).map(DecodedValue.init) ?? .unknown) }
        }
        resource = try keyValues(try resourceSpans[0].message(1)?.messages(1) ?? [])
        let scopeSpans = try resourceSpans[0].messages(2)
        guard scopeSpans.count == 1 else { throw ProtoDecodeError() }
        let scope = try scopeSpans[0].message(1)
        scopeName = scope?.string(1)
        scopeVersion = scope?.string(2)
        spans = try scopeSpans[0].messages(2).map { span in
            let status = try span.message(15)
            return DecodedSpan(
                traceID: span.bytes(1) ?? [], spanID: span.bytes(2) ?? [], parentSpanID: span.bytes(4),
                name: span.string(5) ?? "", kind: span.varint(6) ?? 0, startNanos: span.fixed64(7) ?? 0,
                endNanos: span.fixed64(8) ?? 0, attributes: try keyValues(try span.messages(9)),
                statusCode: status?.varint(3) ?? 0, statusMessage: status?.string(2))
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

// MARK: - Log capture

/// Collects every log line (message plus all metadata) so tests can assert what is never logged.
final class ExportLogCapture: Sendable {
    private let lines = Mutex<[String]>([])

    func logger(_ label: String = "keel-export-tests.capture") -> Logger {
        var logger = Logger(label: label) { _ in ExportCapturingLogHandler(capture: self) }
        logger.logLevel = .trace
        return logger
    }

    var all: [String] { lines.withLock { $0 } }

    fileprivate func append(_ line: String) {
        lines.withLock { $0.append(line) }
    }
}

struct ExportCapturingLogHandler: LogHandler {
    let capture: ExportLogCapture
    var metadata: Logger.Metadata = [:]
    var logLevel: Logger.Level = .trace

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        let merged = metadata.merging(event.metadata ?? [:]) { $1 }
        capture.append("\(event.level) \(event.message) \(merged)")
    }
}
