import AsyncHTTPClient
import Foundation
import KeelCore
@testable import KeelObservability
import Logging
import ServiceLifecycle
import SwiftProtobuf
import Synchronization
import KeelTestSupport
import Testing

// MARK: - Encoder

@Suite("Export: OTLP protobuf encoder")
struct ExportEncoderTests {
    /// `OTLPTraceEncoder` output must equal what the official Python protobuf classes
    /// (opentelemetry-proto 1.x, protobuf 7.36) serialize for the same request, field for field.
    /// Generated offline with `ExportTraceServiceRequest(...).SerializeToString(deterministic=True)`.
    static let pythonGolden =
        "0ae8030a620a1d0a0c736572766963652e6e616d65120d0a0b6b65656c2d7365727665720a1a0a0f736572766963652e76657273696f"
        + "6e12070a05312e322e330a250a1b6465706c6f796d656e742e656e7669726f6e6d656e742e6e616d6512060a04746573741281030a0d"
        + "0a046b65656c1205312e322e3312a6020a10000102030405060708090a0b0c0d0e0f12081011121314151617220820212223242526272a"
        + "0b63686174206770742d346f30033980b21045fe9c971741002f928ffe9c97174a1f0a1567656e5f61692e6f7065726174696f6e2e6e61"
        + "6d6512060a04636861744a1f0a1967656e5f61692e75736167652e696e7075745f746f6b656e731202182a4a120a036e6567120b18f9ff"
        + "ffffffffffffff014a180a0b74656d7065726174757265120921000000000000e03f4a0c0a0673747265616d120210014a100a0a666c61"
        + "675f66616c7365120210004a0b0a05656d70747912020a004a360a1e67656e5f61692e726573706f6e73652e66696e6973685f72656173"
        + "6f6e7312142a120a060a0473746f700a080a066c656e6774687a081204626f6f6d180212470a10000102030405060708090a0b0c0d0e0f"
        + "120830313233343536372a11696e766f6b655f6167656e74206b65656c30013900002a36fe9c97174100002a36fe9c97177a021801"

    static var richSpans: [SpanRecord] {
        let traceID = (0..<16).map { UInt8($0) }
        return [
            SpanRecord(
                traceID: traceID, spanID: (0x10..<0x18).map { UInt8($0) }, parentSpanID: (0x20..<0x28).map { UInt8($0) },
                name: "chat gpt-4o", kind: .client, start: Date(timeIntervalSince1970: 1_700_000_000.25),
                end: Date(timeIntervalSince1970: 1_700_000_001.5),
                attributes: [
                    ("gen_ai.operation.name", .string("chat")), ("gen_ai.usage.input_tokens", .int(42)), ("neg", .int(-7)),
                    ("temperature", .double(0.5)), ("stream", .bool(true)), ("flag_false", .bool(false)),
                    ("empty", .string("")), ("gen_ai.response.finish_reasons", .stringArray(["stop", "length"])),
                ],
                status: .error("boom")),
            SpanRecord(
                traceID: traceID, spanID: (0x30..<0x38).map { UInt8($0) }, parentSpanID: nil, name: "invoke_agent keel",
                kind: .internal, start: Date(timeIntervalSince1970: 1_700_000_000),
                end: Date(timeIntervalSince1970: 1_700_000_000), status: .ok),
        ]
    }

    static let richEncoder = OTLPTraceEncoder(
        resourceAttributes: [
            ("service.name", .string("keel-server")), ("service.version", .string("1.2.3")),
            ("deployment.environment.name", .string("test")),
        ],
        scopeName: "keel", scopeVersion: "1.2.3")

    @Test func matchesOfficialProtobufSerialization() throws {
        #expect(HexID.hex(try Self.richEncoder.encode(Self.richSpans)) == Self.pythonGolden)
    }

    @Test func spansEncodedOnceByTheFanOutGiveTheSameRequest() throws {
        let generated: [UInt8] = try Self.richEncoder.request(Self.richSpans).serializedBytes()
        #expect(try Self.richEncoder.encode(Self.richSpans) == generated)
        let preEncoded = try Self.richSpans.map { span in
            var encoded = span
            encoded.protobuf = try Self.richEncoder.spanBytes(span)
            return encoded
        }
        #expect(preEncoded.allSatisfy { ($0.protobuf?.count ?? 0) > 20 })
        #expect(try Self.richEncoder.encode(preEncoded) == generated)
        // Enough spans for lengths of several varint bytes (scope_spans > 16 KiB).
        let many = (0..<300).map { index in
            exportTestSpan(index, parent: [1, 2, 3, 4, 5, 6, 7, 8], attributes: [("k", .string("value \(index)"))])
        }
        let manyGenerated: [UInt8] = try Self.richEncoder.request(many).serializedBytes()
        #expect(manyGenerated.count > 16_384)
        #expect(try Self.richEncoder.encode(many) == manyGenerated)
    }

    /// Small enough to check by hand: request{resource_spans{resource{}, scope_spans{scope{name:"k"},
    /// spans{trace_id, span_id, name:"s", kind:1, start=end=1e9 ns}}}}.
    @Test func handComputedGolden() throws {
        let span = SpanRecord(
            traceID: Array(repeating: 1, count: 16), spanID: Array(repeating: 2, count: 8), parentSpanID: nil, name: "s",
            kind: .internal, start: Date(timeIntervalSince1970: 1), end: Date(timeIntervalSince1970: 1))
        let bytes = try OTLPTraceEncoder(resourceAttributes: [], scopeName: "k").encode([span])
        let spanBytes: [UInt8] =
            [0x0A, 0x10] + Array(repeating: 1, count: 16)  // trace_id (1, bytes)
            + [0x12, 0x08] + Array(repeating: 2, count: 8)  // span_id (2, bytes)
            + [0x2A, 0x01, 0x73]  // name (5) "s"
            + [0x30, 0x01]  // kind (6) INTERNAL
            + [0x39, 0x00, 0xCA, 0x9A, 0x3B, 0, 0, 0, 0]  // start_time_unix_nano (7, fixed64) 1e9
            + [0x41, 0x00, 0xCA, 0x9A, 0x3B, 0, 0, 0, 0]  // end_time_unix_nano (8, fixed64)
        let scopeSpans: [UInt8] = [0x0A, 0x03, 0x0A, 0x01, 0x6B] + [0x12, UInt8(spanBytes.count)] + spanBytes
        let resourceSpans: [UInt8] = [0x0A, 0x00] + [0x12, UInt8(scopeSpans.count)] + scopeSpans
        let expected: [UInt8] = [0x0A, UInt8(resourceSpans.count)] + resourceSpans
        #expect(expected.count == 64)
        #expect(bytes == expected)
    }

    @Test func decodesBackThroughGeneratedMessages() throws {
        let request = try DecodedRequest(Self.richEncoder.encode(Self.richSpans))
        #expect(request.resource("service.name") == .string("keel-server"))
        #expect(request.resource("deployment.environment.name") == .string("test"))
        #expect(request.scopeName == "keel")
        #expect(request.scopeVersion == "1.2.3")
        #expect(request.spans.count == 2)
        let chat = request.spans[0]
        #expect(chat.traceID == (0..<16).map { UInt8($0) })
        #expect(chat.parentSpanID == (0x20..<0x28).map { UInt8($0) })
        #expect(chat.name == "chat gpt-4o")
        #expect(chat.kind == 3)
        #expect(chat.startNanos == 1_700_000_000_250_000_000)
        #expect(chat.endNanos == 1_700_000_001_500_000_000)
        #expect(chat[attribute: "gen_ai.usage.input_tokens"] == .int(42))
        #expect(chat[attribute: "neg"] == .int(-7))
        #expect(chat[attribute: "temperature"] == .double(0.5))
        #expect(chat[attribute: "flag_false"] == .bool(false))
        #expect(chat[attribute: "empty"] == .string(""))
        #expect(chat[attribute: "gen_ai.response.finish_reasons"] == .array([.string("stop"), .string("length")]))
        #expect(chat.attributes.map(\.key).first == "gen_ai.operation.name")
        #expect(chat.statusCode == 2)
        #expect(chat.statusMessage == "boom")
        let root = request.spans[1]
        #expect(root.parentSpanID == nil)
        #expect(root.kind == 1)
        #expect(root.statusCode == 1)
        #expect(root.statusMessage == nil)
    }

    @Test func emptyBatchEncodesToNothing() throws {
        #expect(try exportTestEncoder.encode([]).isEmpty)
    }

    /// `ExportTraceServiceResponse.partial_success`, as collectors send it; JSON, empty, all-accepted
    /// and undecodable bodies give no warning.
    @Test func partialSuccessIsReadFromProtobufResponses() throws {
        // partial_success (1) { rejected_spans (1) = 3, error_message (2) = "span too large" }, by hand.
        let bytes: [UInt8] = [0x0A, 0x12, 0x08, 0x03, 0x12, 0x0E] + Array("span too large".utf8)
        let partial = try #require(OTLPPartialSuccess(responseBody: bytes, contentType: "application/x-protobuf"))
        #expect(partial.rejectedSpans == 3)
        #expect(partial.errorMessage == "span too large")
        #expect(OTLPPartialSuccess(responseBody: bytes, contentType: "application/json") == nil)
        #expect(OTLPPartialSuccess(responseBody: Array("{}".utf8), contentType: "application/json") == nil)
        #expect(OTLPPartialSuccess(responseBody: [], contentType: "application/x-protobuf") == nil)
        var accepted = OTLPExportTraceServiceResponse()
        accepted.partialSuccess.rejectedSpans = 0
        #expect(OTLPPartialSuccess(responseBody: try accepted.serializedBytes(), contentType: "application/protobuf") == nil)
        #expect(OTLPPartialSuccess(responseBody: [0x0A, 0x05, 0x08], contentType: "application/x-protobuf") == nil)
    }

    @Test func unixNanosecondsKeepsMicroseconds() {
        let date = Date(timeIntervalSince1970: 1_700_000_000.123456)
        let nanos = OTLPTraceEncoder.unixNanoseconds(date)
        #expect(nanos / 1000 == 1_700_000_000_123_456)
        #expect(OTLPTraceEncoder.unixNanoseconds(Date(timeIntervalSince1970: -5)) == 0)
    }
}

// MARK: - HTTP exporter

@Suite("Export: OTLP/HTTP exporter")
struct ExportHTTPExporterTests {
    @Test func langfuseDestinationSendsProtobufWithBasicAuth() async throws {
        let collector = ExportFakeCollector()
        try await collector.run { baseURL in
            let configuration = try TracingSettings(
                environment: [
                    "OTEL_TARGETS": "LANGFUSE", "LANGFUSE_BASE_URL": baseURL + "/", "LANGFUSE_PUBLIC_KEY": "pk-lf-123",
                    "LANGFUSE_SECRET_KEY": "sk-lf-456", "OTEL_SERVICE_NAME": "keel-it",
                ], defaultServiceVersion: "9.9.9")
            let destination = try #require(configuration.targets.first)
            let exporter = try configuration.makeExporter(
                for: destination, encoder: configuration.makeEncoder(), httpClient: .shared, logger: exportQuietLogger())
            try await exporter.export([exportTestSpan(1), exportTestSpan(2, parent: [1, 2, 3, 4, 5, 6, 7, 8])])

            let requests = collector.received()
            #expect(requests.count == 1)
            let request = try #require(requests.first)
            #expect(request.path == "/api/public/otel/v1/traces")
            #expect(request.headers["content-type"] == "application/x-protobuf")
            let expectedAuth = "Basic " + Data("pk-lf-123:sk-lf-456".utf8).base64EncodedString()
            #expect(request.headers["authorization"] == expectedAuth)
            #expect(request.headers["x-langfuse-ingestion-version"] == "4")
            let decoded = try DecodedRequest(request.body)
            #expect(decoded.resource("service.name") == .string("keel-it"))
            #expect(decoded.resource("service.version") == .string("9.9.9"))
            #expect(decoded.spans.map(\.name) == ["span 1", "span 2"])
            #expect(decoded.spans[1].parentSpanID == [1, 2, 3, 4, 5, 6, 7, 8])
        }
    }

    @Test func customHeadersAndStatusMapping() async throws {
        let collector = ExportFakeCollector()
        try await collector.run { baseURL in
            let exporter = OTLPHTTPExporter(
                endpoint: baseURL + "/v1/traces", headers: [("x-api-key", "secret-value-1")], encoder: exportTestEncoder,
                httpClient: .shared, timeout: .seconds(5), logger: exportQuietLogger())
            collector.script(
                "/v1/traces",
                [
                    .status(503, retryAfter: "2"), .status(429), .status(502), .status(504),
                    .status(400, body: "bad request: echo secret-value-1"), .status(401), .status(200),
                ])
            let spans = [exportTestSpan()]
            await #expect(throws: ExportError.retryable(status: 503, retryAfter: 2)) { try await exporter.export(spans) }
            await #expect(throws: ExportError.retryable(status: 429, retryAfter: nil)) { try await exporter.export(spans) }
            await #expect(throws: ExportError.retryable(status: 502, retryAfter: nil)) { try await exporter.export(spans) }
            await #expect(throws: ExportError.retryable(status: 504, retryAfter: nil)) { try await exporter.export(spans) }
            do {
                try await exporter.export(spans)
                Issue.record("400 should throw")
            } catch let ExportError.permanent(status, detail) {
                #expect(status == 400)
                #expect(!detail.contains("secret-value-1"), "header values must not leak into errors")
            }
            await #expect(throws: ExportError.permanent(status: 401, detail: "HTTP 401")) { try await exporter.export(spans) }
            try await exporter.export(spans)
            #expect(collector.received().allSatisfy { $0.headers["x-api-key"] == "secret-value-1" })
            #expect(!exporter.description.contains("secret-value-1"))
        }
    }

    @Test func connectionFailureIsRetryable() async throws {
        // Port 1 on loopback: nothing listens there, so the connection is refused.
        let exporter = OTLPHTTPExporter(
            endpoint: "http://127.0.0.1:1/v1/traces", encoder: exportTestEncoder, httpClient: .shared, timeout: .seconds(1),
            logger: exportQuietLogger())
        await #expect(throws: ExportError.retryable(status: nil, retryAfter: nil)) { try await exporter.export([exportTestSpan()]) }
    }

    @Test func timeoutIsRetryable() async throws {
        let collector = ExportFakeCollector()
        try await collector.run { baseURL in
            collector.script("/slow", [.hang(.seconds(5))])
            let exporter = OTLPHTTPExporter(
                endpoint: baseURL + "/slow", encoder: exportTestEncoder, httpClient: .shared, timeout: .milliseconds(300),
                logger: exportQuietLogger())
            let start = ContinuousClock.now
            await #expect(throws: ExportError.retryable(status: nil, retryAfter: nil)) { try await exporter.export([exportTestSpan()]) }
            #expect(ContinuousClock.now - start < .seconds(3))
        }
    }

    @Test func retryAfterParsing() {
        #expect(OTLPHTTPExporter.parseRetryAfter("3") == 3)
        #expect(OTLPHTTPExporter.parseRetryAfter(" 0 ") == 0)
        #expect(OTLPHTTPExporter.parseRetryAfter("-4") == 0)
        #expect(OTLPHTTPExporter.parseRetryAfter(nil) == nil)
        #expect(OTLPHTTPExporter.parseRetryAfter("soon") == nil)
        let now = Date(timeIntervalSince1970: 1_445_412_480)  // Wed, 21 Oct 2015 07:28:00 GMT
        #expect(OTLPHTTPExporter.parseRetryAfter("Wed, 21 Oct 2015 07:28:30 GMT", now: now) == 30)
    }
}

// MARK: - Pipeline

@Suite("Export: pipeline")
struct ExportPipelineTests {
    static func fastConfiguration(
        queue: Int = 2048, batch: Int = 512, flush: Duration = .milliseconds(100), retries: Int = 3,
        exportTimeout: Duration = .seconds(5), shutdownTimeout: Duration = .seconds(2)
    ) -> ExportPipeline.Configuration {
        ExportPipeline.Configuration(
            maxQueueSize: queue, maxBatchSize: batch, flushInterval: flush, maxRetries: retries,
            initialBackoff: .milliseconds(20), maxBackoff: .seconds(10), exportTimeout: exportTimeout,
            shutdownTimeout: shutdownTimeout)
    }

    @Test func retries503ThenSucceeds() async throws {
        let collector = ExportFakeCollector()
        try await collector.run { baseURL in
            collector.script("/v1/traces", [.status(503), .status(503)])
            let pipeline = ExportPipeline(
                name: "generic",
                exporter: OTLPHTTPExporter(
                    endpoint: baseURL + "/v1/traces", encoder: exportTestEncoder, httpClient: .shared, logger: exportQuietLogger()),
                configuration: Self.fastConfiguration(), logger: exportQuietLogger())
            try await withRunningExportPipelines([pipeline]) {
                pipeline.enqueue([exportTestSpan(1), exportTestSpan(2), exportTestSpan(3)])
                #expect(await exportEventually { pipeline.stats.exportedSpans == 3 })
            }
            #expect(collector.received().count == 3)
            let stats = pipeline.stats
            #expect(stats.retries == 2)
            #expect(stats.exportedBatches == 1)
            #expect(stats.failedSpans == 0)
            #expect(stats.droppedSpansTotal == 0)
            // Every attempt carried the same spans.
            let bodies = collector.received().map(\.body)
            #expect(Set(bodies.map { HexID.hex($0) }).count == 1)
        }
    }

    @Test func honoursRetryAfter() async throws {
        let collector = ExportFakeCollector()
        try await collector.run { baseURL in
            collector.script("/v1/traces", [.status(429, retryAfter: "1")])
            let pipeline = ExportPipeline(
                name: "generic",
                exporter: OTLPHTTPExporter(
                    endpoint: baseURL + "/v1/traces", encoder: exportTestEncoder, httpClient: .shared, logger: exportQuietLogger()),
                configuration: Self.fastConfiguration(), logger: exportQuietLogger())
            try await withRunningExportPipelines([pipeline]) {
                pipeline.enqueue([exportTestSpan()])
                #expect(await exportEventually { pipeline.stats.exportedSpans == 1 })
            }
            let requests = collector.received()
            #expect(requests.count == 2)
            if requests.count == 2 {
                // Backoff alone would be ~20 ms; the server asked for 1 s.
                #expect(requests[1].receivedAt - requests[0].receivedAt >= .milliseconds(950))
            }
        }
    }

    @Test func retriesAreBoundedAndPermanentErrorsAreNotRetried() async throws {
        let exhausted = ExportRecordingExporter(failFirst: Array(repeating: .retryable(status: 503, retryAfter: 0), count: 10))
        let rejected = ExportRecordingExporter(failFirst: [.permanent(status: 400, detail: "bad")])
        let exhaustedPipeline = ExportPipeline(
            name: "a", exporter: exhausted, configuration: Self.fastConfiguration(retries: 2), logger: exportQuietLogger())
        let rejectedPipeline = ExportPipeline(
            name: "b", exporter: rejected, configuration: Self.fastConfiguration(), logger: exportQuietLogger())
        try await withRunningExportPipelines([exhaustedPipeline, rejectedPipeline]) {
            SpanFanOut(pipelines: [exhaustedPipeline, rejectedPipeline]).publish([exportTestSpan(1), exportTestSpan(2)])
            #expect(await exportEventually { exhaustedPipeline.stats.failedSpans == 2 && rejectedPipeline.stats.failedSpans == 2 })
        }
        #expect(exhausted.received.count == 3)  // first attempt + 2 retries
        #expect(exhaustedPipeline.stats.retries == 2)
        #expect(exhaustedPipeline.stats.failedBatches == 1)
        #expect(exhaustedPipeline.droppedSpansTotal == 2)
        #expect(rejected.received.count == 1)
        #expect(rejectedPipeline.stats.retries == 0)
        #expect(rejectedPipeline.failedSpans == 2)
    }

    @Test func dropsNewSpansWhenQueueIsFullAndCountsThem() async throws {
        let exporter = ExportRecordingExporter()
        let pipeline = ExportPipeline(
            name: "generic", exporter: exporter, configuration: Self.fastConfiguration(queue: 5, batch: 2),
            logger: exportQuietLogger())
        // Not running yet: the queue fills and the rest is dropped, without blocking.
        pipeline.enqueue((0..<4).map { exportTestSpan($0) })
        pipeline.enqueue((4..<8).map { exportTestSpan($0) })
        #expect(pipeline.stats.queuedSpans == 5)
        #expect(pipeline.droppedSpans == 3)
        #expect(pipeline.droppedSpansTotal == 3)
        try await withRunningExportPipelines([pipeline]) {
            #expect(await exportEventually { pipeline.exportedSpans == 5 })
        }
        // The oldest five were kept, in order, in batches of at most two.
        #expect(exporter.received.flatMap { $0 }.map(\.name) == (0..<5).map { "span \($0)" })
        #expect(exporter.received.allSatisfy { $0.count <= 2 })
        // After the pipeline stopped, spans are dropped and counted.
        pipeline.enqueue([exportTestSpan(9)])
        #expect(pipeline.droppedSpans == 4)
    }

    @Test func fullBatchIsSentWithoutWaitingForTheFlushInterval() async throws {
        let exporter = ExportRecordingExporter()
        let pipeline = ExportPipeline(
            name: "generic", exporter: exporter, configuration: Self.fastConfiguration(batch: 3, flush: .seconds(60)),
            logger: exportQuietLogger())
        try await withRunningExportPipelines([pipeline]) {
            pipeline.enqueue((0..<3).map { exportTestSpan($0) })
            #expect(await exportEventually { exporter.spanCount == 3 }, "well before the 60 s flush interval")
            // Four spans: a full batch goes out, the one left over waits for the flush interval…
            pipeline.enqueue((3..<7).map { exportTestSpan($0) })
            #expect(await exportEventually { exporter.spanCount == 6 })
            // …or for the next full batch, which it then heads.
            pipeline.enqueue((7..<9).map { exportTestSpan($0) })
            #expect(await exportEventually { exporter.spanCount == 9 })
            #expect(exporter.received.map { $0.map(\.name) } == [0, 3, 6].map { first in (first..<first + 3).map { "span \($0)" } })
            pipeline.enqueue([exportTestSpan(9)])
            #expect(pipeline.stats.queuedSpans == 1)
        }
        // …and the final flush on graceful shutdown sends a partial batch.
        #expect(exporter.spanCount == 10)
        #expect(exporter.received.last?.map(\.name) == ["span 9"])
        #expect(pipeline.stats.queuedSpans == 0)
    }

    @Test func hangingDestinationDoesNotDelayAnother() async throws {
        let collector = ExportFakeCollector()
        try await collector.run { baseURL in
            collector.setDefault("/hang/v1/traces", .hang(.seconds(30)))
            let hanging = ExportPipeline(
                name: "phoenix",
                exporter: OTLPHTTPExporter(
                    endpoint: baseURL + "/hang/v1/traces", encoder: exportTestEncoder, httpClient: .shared, timeout: .seconds(30),
                    logger: exportQuietLogger()),
                configuration: Self.fastConfiguration(exportTimeout: .seconds(20), shutdownTimeout: .milliseconds(500)),
                logger: exportQuietLogger())
            let healthy = ExportPipeline(
                name: "generic",
                exporter: OTLPHTTPExporter(
                    endpoint: baseURL + "/v1/traces", encoder: exportTestEncoder, httpClient: .shared, logger: exportQuietLogger()),
                configuration: Self.fastConfiguration(), logger: exportQuietLogger())
            let fanOut = SpanFanOut(pipelines: [hanging, healthy])
            let clock = ContinuousClock()
            let shutdownStarted = Mutex<ContinuousClock.Instant?>(nil)
            try await withRunningExportPipelines([hanging, healthy]) {
                let start = clock.now
                fanOut.publish([exportTestSpan(1)])
                #expect(clock.now - start < .milliseconds(500), "publish must not wait")
                #expect(await exportEventually(timeout: .seconds(5)) { collector.received("/v1/traces").count == 1 })
                #expect(clock.now - start < .seconds(5))
                // The hanging destination got its request but never answered; more spans keep flowing elsewhere.
                #expect(await exportEventually(timeout: .seconds(5)) { collector.received("/hang/v1/traces").count == 1 })
                fanOut.publish([exportTestSpan(2)])
                #expect(await exportEventually(timeout: .seconds(5)) { healthy.exportedSpans == 2 })
                #expect(hanging.exportedSpans == 0)
                shutdownStarted.withLock { $0 = clock.now }
            }
            // Graceful shutdown is bounded by the hanging pipeline's shutdown timeout.
            let shutdownTook = clock.now - (shutdownStarted.withLock { $0 } ?? clock.now)
            #expect(shutdownTook < .seconds(3))
            #expect(hanging.stats.droppedSpansTotal == 2)
            #expect(hanging.stats.exportedSpans == 0)
        }
    }

    @Test func aFanOutWithAnEncoderHandsEveryDestinationTheSameEncodedSpans() async throws {
        let first = ExportRecordingExporter()
        let second = ExportRecordingExporter()
        let pipelines = [first, second].enumerated().map { index, exporter in
            ExportPipeline(
                name: "d\(index)", exporter: exporter, configuration: Self.fastConfiguration(), logger: exportQuietLogger())
        }
        let spans = [exportTestSpan(1), exportTestSpan(2, parent: [1, 2, 3, 4, 5, 6, 7, 8])]
        try await withRunningExportPipelines(pipelines) {
            SpanFanOut(pipelines: pipelines, encoder: exportTestEncoder).publish(spans)
            #expect(await exportEventually { first.spanCount == 2 && second.spanCount == 2 })
        }
        for exporter in [first, second] {
            let received = exporter.received.flatMap { $0 }
            #expect(received == spans)
            let expected = try spans.map { try exportTestEncoder.spanBytes($0) }
            #expect(received.compactMap(\.protobuf) == expected)
        }
        #expect(try exportTestEncoder.encode(first.received.flatMap { $0 }) == exportTestEncoder.encode(spans))
    }

    @Test func flushesOnServiceGroupGracefulShutdown() async throws {
        let exporter = ExportRecordingExporter()
        let pipeline = ExportPipeline(
            name: "generic", exporter: exporter, configuration: Self.fastConfiguration(batch: 2, flush: .seconds(60)),
            logger: exportQuietLogger())
        let group = ServiceGroup(services: [pipeline], gracefulShutdownSignals: [], logger: exportQuietLogger())
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            // A full batch goes out at once, which also shows the group is running the pipeline.
            pipeline.enqueue([exportTestSpan(1), exportTestSpan(2)])
            #expect(await exportEventually { exporter.spanCount == 2 })
            pipeline.enqueue([exportTestSpan(3)])
            #expect(pipeline.stats.queuedSpans == 1, "a partial batch waits for the 60 s flush interval")
            await group.triggerGracefulShutdown()
            try await tasks.waitForAll()
        }
        #expect(exporter.spanCount == 3)
        #expect(exporter.received.last?.map(\.name) == ["span 3"], "the final flush sent the partial batch")
        #expect(pipeline.stats == {
            var expected = ExportStats()
            expected.exportedSpans = 3
            expected.exportedBatches = 2
            return expected
        }())
    }

    @Test func logsNeverContainHeaderValues() async throws {
        let capture = LogCapture()
        let collector = ExportFakeCollector()
        try await collector.run { baseURL in
            collector.script(
                "/v1/traces", [.status(401, body: "token Bearer topsecret-xyz is invalid"), .status(503), .status(503)])
            let configuration = try TracingSettings(
                environment: [
                    "OTEL_TARGETS": "GENERIC,bogus", "OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf",
                    "OTEL_EXPORTER_OTLP_ENDPOINT": baseURL,
                    "OTEL_EXPORTER_OTLP_HEADERS": "Authorization=Bearer%20topsecret-xyz,broken-topsecret-xyz",
                ], defaultServiceVersion: "1.0.0")
            var settings = configuration
            settings.pipeline = Self.fastConfiguration(queue: 1, batch: 1, retries: 1)
            let pipeline = try #require(settings.makePipelines(httpClient: .shared, logger: capture.logger()).first)
            try await withRunningExportPipelines([pipeline]) {
                pipeline.enqueue([exportTestSpan(1)])
                #expect(await exportEventually { pipeline.failedSpans == 1 })
                pipeline.enqueue([exportTestSpan(2), exportTestSpan(3)])  // one fits, one is dropped
                #expect(await exportEventually { pipeline.failedSpans == 2 })
            }
            for line in configuration.warnings + capture.lines + ["\(pipeline)", "\(configuration.targets)"] {
                #expect(!line.contains("topsecret"), "leaked: \(line)")
            }
            #expect(capture.lines.contains { $0.contains("batch dropped") && $0.contains("generic") })
            #expect(capture.lines.contains { $0.contains("spans dropped") })
            #expect(collector.received().allSatisfy { $0.headers["authorization"] == "Bearer topsecret-xyz" })
        }
    }

    @Test func cancellationStopsThePipeline() async throws {
        let exporter = ExportRecordingExporter()
        let pipeline = ExportPipeline(
            name: "generic", exporter: exporter, configuration: Self.fastConfiguration(), logger: exportQuietLogger())
        let task = Task { try await pipeline.run() }
        pipeline.enqueue([exportTestSpan()])
        #expect(await exportEventually { exporter.spanCount == 1 })
        task.cancel()
        _ = try? await task.value
        pipeline.enqueue([exportTestSpan(2)])
        #expect(pipeline.droppedSpans == 1)
    }
}

// MARK: - Configuration

@Suite("Export: tracing configuration")
struct ExportConfigurationTests {
    func parse(_ environment: [String: String]) throws(ConfigurationError) -> TracingSettings {
        try TracingSettings(environment: environment, defaultServiceVersion: "1.0.0")
    }

    func parseError(_ environment: [String: String]) -> ConfigurationError? {
        do {
            _ = try parse(environment)
            return nil
        } catch {
            return error
        }
    }

    @Test func defaultsAreOff() throws {
        let configuration = try parse([:])
        #expect(configuration.targets.isEmpty)
        #expect(!configuration.isEnabled)
        #expect(configuration.serviceName == "keel-server")
        #expect(configuration.serviceVersion == "1.0.0")
        #expect(configuration.environment == nil)
        #expect(!configuration.captureContent)
        #expect(configuration.warnings.isEmpty)
        #expect(configuration.pipeline == ExportPipeline.Configuration(exportTimeout: .seconds(11)))
        #expect(try parse(["OTEL_TARGETS": " "]).targets.isEmpty)
    }

    @Test func targetsAreCaseInsensitiveAndUnknownOnesWarn() throws {
        let configuration = try parse([
            "OTEL_TARGETS": "phoenix, Generic,jaeger,PHOENIX", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318",
        ])
        #expect(configuration.targets.map(\.kind) == [.phoenix, .generic])
        #expect(configuration.warnings.count == 1)
        #expect(configuration.warnings.first?.contains("jaeger") == true)
        #expect(try parse(["OTEL_TARGETS": "otlp"]).targets.map(\.kind) == [.generic])
        #expect(try parse(["OTEL_TARGETS": "console", "OTEL_CONSOLE_EXPORT": "true"]).targets.map(\.kind) == [.console])
    }

    @Test func langfuseEndpointAndHeaders() throws {
        let configuration = try parse([
            "OTEL_TARGETS": "LANGFUSE", "LANGFUSE_PUBLIC_KEY": "pk-lf-1", "LANGFUSE_SECRET_KEY": "sk-lf-2",
        ])
        let langfuse = try #require(configuration.targets.first)
        #expect(langfuse.kind == .langfuse)
        #expect(langfuse.transport == .httpProtobuf)
        #expect(langfuse.endpoint == "https://cloud.langfuse.com/api/public/otel/v1/traces")
        #expect(langfuse.header("authorization") == "Basic " + Data("pk-lf-1:sk-lf-2".utf8).base64EncodedString())
        #expect(langfuse.header("x-langfuse-ingestion-version") == "4")
        #expect(!"\(langfuse)".contains("sk-lf-2"))
        #expect(!String(reflecting: langfuse).contains(Data("pk-lf-1:sk-lf-2".utf8).base64EncodedString()))

        let selfHosted = try parse([
            "OTEL_TARGETS": "langfuse", "LANGFUSE_BASE_URL": "http://langfuse:3000/", "LANGFUSE_PUBLIC_KEY": "pk",
            "LANGFUSE_SECRET_KEY": "sk",
        ])
        #expect(selfHosted.targets.first?.endpoint == "http://langfuse:3000/api/public/otel/v1/traces")
    }

    @Test func missingLangfuseKeysNameTheVariable() {
        #expect(parseError(["OTEL_TARGETS": "LANGFUSE", "LANGFUSE_SECRET_KEY": "sk"])?.variable == "LANGFUSE_PUBLIC_KEY")
        #expect(parseError(["OTEL_TARGETS": "LANGFUSE", "LANGFUSE_PUBLIC_KEY": "pk"])?.variable == "LANGFUSE_SECRET_KEY")
        let badURL = parseError([
            "OTEL_TARGETS": "LANGFUSE", "LANGFUSE_BASE_URL": "ftp://x", "LANGFUSE_PUBLIC_KEY": "pk", "LANGFUSE_SECRET_KEY": "sk",
        ])
        #expect(badURL?.variable == "LANGFUSE_BASE_URL")
        // Keys are not needed when Langfuse is not targeted.
        #expect(parseError(["OTEL_TARGETS": "PHOENIX"]) == nil)
    }

    @Test func phoenixEndpointAndAuth() throws {
        let defaults = try parse(["OTEL_TARGETS": "PHOENIX"])
        #expect(defaults.targets.first?.endpoint == "http://127.0.0.1:6006/v1/traces")
        #expect(defaults.targets.first?.headers.isEmpty == true)

        let custom = try parse([
            "OTEL_TARGETS": "PHOENIX", "PHOENIX_COLLECTOR_ENDPOINT": "http://phoenix:6006", "PHOENIX_API_KEY": "px-key",
            "PHOENIX_PROJECT_NAME": "keel",
        ])
        let phoenix = try #require(custom.targets.first)
        #expect(phoenix.endpoint == "http://phoenix:6006/v1/traces")
        #expect(phoenix.header("Authorization") == "Bearer px-key")
        #expect(phoenix.header("x-project-name") == "keel")
        #expect(!phoenix.description.contains("px-key"))

        let withPath = try parse(["OTEL_TARGETS": "PHOENIX", "PHOENIX_COLLECTOR_ENDPOINT": "http://proxy/phoenix/traces"])
        #expect(withPath.targets.first?.endpoint == "http://proxy/phoenix/traces")
    }

    @Test func genericEndpointAndProtocolSelection() throws {
        // Everruns: the endpoint alone turns tracing on, over gRPC.
        let everruns = try parse(["OTEL_EXPORTER_OTLP_ENDPOINT": "http://localhost:4317"])
        #expect(everruns.targets.map(\.kind) == [.generic])
        #expect(everruns.targets.first?.transport == .grpc)
        #expect(everruns.targets.first?.endpoint == "http://localhost:4317")

        let http = try parse([
            "OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318/", "OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf",
        ])
        #expect(http.targets.first?.transport == .httpProtobuf)
        #expect(http.targets.first?.endpoint == "http://collector:4318/v1/traces")

        // Port 4318 or a path imply HTTP; an Aegra-style full URL is not doubled.
        #expect(try parse(["OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318"]).targets.first?.transport == .httpProtobuf)
        let aegra = try parse(["OTEL_TARGETS": "GENERIC", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:9999/v1/traces"])
        #expect(aegra.targets.first?.transport == .httpProtobuf)
        #expect(aegra.targets.first?.endpoint == "http://c:9999/v1/traces")

        // The per-signal endpoint is used exactly as given and wins.
        let signal = try parse([
            "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "https://api.example/otel/traces",
            "OTEL_EXPORTER_OTLP_ENDPOINT": "http://ignored:4317", "OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf",
        ])
        #expect(signal.targets.first?.endpoint == "https://api.example/otel/traces")

        let grpc = try parse(["OTEL_TARGETS": "GENERIC", "OTEL_EXPORTER_OTLP_PROTOCOL": "GRPC"])
        #expect(grpc.targets.first?.transport == .grpc)
        #expect(grpc.targets.first?.endpoint == "http://localhost:4317")
        let bare = try parse(["OTEL_TARGETS": "GENERIC"])
        #expect(bare.targets.first?.transport == .httpProtobuf)
        #expect(bare.targets.first?.endpoint == "http://localhost:4318/v1/traces")

        let json = parseError(["OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318", "OTEL_EXPORTER_OTLP_PROTOCOL": "http/json"])
        #expect(json?.variable == "OTEL_EXPORTER_OTLP_PROTOCOL")
        #expect(json?.message.contains("not supported, use http/protobuf or grpc") == true)
        #expect(parseError(["OTEL_TARGETS": "GENERIC", "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL": "thrift"])?.variable
            == "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL")

        // An endpoint outside an explicit target list is reported, not used.
        let ignored = try parse(["OTEL_TARGETS": "PHOENIX", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4317"])
        #expect(ignored.targets.map(\.kind) == [.phoenix])
        #expect(ignored.warnings.contains { $0.contains("OTEL_EXPORTER_OTLP_ENDPOINT") })
    }

    @Test func headersArePercentDecodedAndNeverQuotedInWarnings() throws {
        let configuration = try parse([
            "OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318",
            "OTEL_EXPORTER_OTLP_HEADERS": "Authorization=Bearer%20tok%2Ben, x-tenant = acme%3Dprod ,justasecretvalue,=x",
            "OTEL_EXPORTER_OTLP_TRACES_HEADERS": "x-tenant=override",
        ])
        let generic = try #require(configuration.targets.first)
        #expect(generic.header("authorization") == "Bearer tok+en")
        #expect(generic.header("x-tenant") == "override")
        #expect(generic.headers.count == 2)
        #expect(configuration.warnings.count == 2)
        #expect(!configuration.warnings.joined().contains("justasecretvalue"))
        // Generic headers never reach other destinations.
        let both = try parse([
            "OTEL_TARGETS": "GENERIC,PHOENIX", "OTEL_EXPORTER_OTLP_HEADERS": "Authorization=Bearer%20x",
        ])
        #expect(both.targets.last?.header("authorization") == nil)
    }

    @Test func contentCaptureFlags() throws {
        let cases: [([String: String], Bool)] = [
            ([:], false),
            (["OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT": "true"], true),
            (["OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT": "SPAN_ONLY"], true),
            (["OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT": "span_and_event"], true),
            (["OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT": "EVENT_ONLY"], false),
            (["OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT": "NO_CONTENT"], false),
            (["OTEL_RECORD_CONTENT": "true"], true),
            (["OTEL_RECORD_CONTENT": "TRUE"], true),
            (["OTEL_RECORD_CONTENT": "false"], false),
        ]
        for (environment, expected) in cases {
            #expect(try parse(environment).captureContent == expected, "\(environment)")
        }
    }

    @Test func resourceAttributesAndServiceIdentity() throws {
        let fromResource = try parse([
            "OTEL_RESOURCE_ATTRIBUTES": "service.name=from-res,team=a%20b,deployment.environment=staging,service.version=2",
        ])
        #expect(fromResource.serviceName == "from-res")
        #expect(fromResource.serviceVersion == "2")
        #expect(fromResource.environment == "staging")
        #expect(fromResource.resourceAttributes.map(\.key) == ["team"])
        #expect(fromResource.resourceAttributes.first?.value == "a b")

        let explicit = try parse([
            "OTEL_RESOURCE_ATTRIBUTES": "service.name=from-res", "OTEL_SERVICE_NAME": "keel-prod",
            "OTEL_SERVICE_VERSION": "3.1", "OTEL_ENVIRONMENT": "production",
        ])
        #expect(explicit.serviceName == "keel-prod")
        #expect(explicit.resource.map(\.key) == ["service.name", "service.version", "deployment.environment.name"])
        #expect(explicit.resource.last?.value == .string("production"))
        #expect(explicit.makeEncoder().scopeVersion == "1.0.0")
        #expect(explicit.makeEncoder().scopeName == "keel")
    }

    @Test func consoleExportAndBatchSettings() throws {
        let configuration = try parse([
            "OTEL_CONSOLE_EXPORT": "true", "OTEL_BSP_MAX_QUEUE_SIZE": "100", "OTEL_BSP_MAX_EXPORT_BATCH_SIZE": "10",
            "OTEL_BSP_SCHEDULE_DELAY": "250", "OTEL_EXPORTER_OTLP_TIMEOUT": "3000",
        ])
        #expect(configuration.targets.map(\.kind) == [.console])
        #expect(configuration.consoleExport)
        #expect(configuration.pipeline.maxQueueSize == 100)
        #expect(configuration.pipeline.maxBatchSize == 10)
        #expect(configuration.pipeline.flushInterval == .milliseconds(250))
        #expect(configuration.targets.first?.timeout == .seconds(3))
        #expect(parseError(["OTEL_BSP_MAX_QUEUE_SIZE": "lots"])?.variable == "OTEL_BSP_MAX_QUEUE_SIZE")
        #expect(try parse(["OTEL_SDK_DISABLED": "true", "OTEL_CONSOLE_EXPORT": "true"]).targets.isEmpty)
    }

    @Test func makePipelinesBuildsOnePerDestination() async throws {
        let configuration = try parse([
            "OTEL_TARGETS": "LANGFUSE,PHOENIX,GENERIC", "LANGFUSE_PUBLIC_KEY": "pk", "LANGFUSE_SECRET_KEY": "sk",
            "OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4317", "OTEL_CONSOLE_EXPORT": "true",
        ])
        let pipelines = configuration.makePipelines(httpClient: .shared, logger: exportQuietLogger())
        #expect(pipelines.map(\.name) == ["langfuse", "phoenix", "generic", "console"])
        #expect(pipelines.allSatisfy { $0.configuration == configuration.pipeline })
    }

    @Test func consoleLineFormat() {
        let line = ConsoleSpanExporter.format(
            exportTestSpan(1, parent: [0, 0, 0, 0, 0, 0, 0, 1], attributes: [("gen_ai.operation.name", .string("chat")), ("n", .int(2))]))
        #expect(line.hasPrefix("span \"span 1\" trace=abababababababababababababababab span=0102030405060708 parent=0000000000000001"))
        #expect(line.contains("duration_ms=500.0"))
        #expect(line.contains("status=ok"))
        #expect(line.contains("attributes={gen_ai.operation.name=\"chat\", n=2}"))
    }
}
