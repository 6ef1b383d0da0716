import Foundation
import SwiftProtobuf

/// The generated OTLP request and response messages (`Generated/*.pb.swift`, from the
/// opentelemetry-proto files in `Protos/opentelemetry`; regenerate with `scripts/generate-grpc`).
package typealias OTLPExportTraceServiceRequest = Opentelemetry_Proto_Collector_Trace_V1_ExportTraceServiceRequest
package typealias OTLPExportTraceServiceResponse = Opentelemetry_Proto_Collector_Trace_V1_ExportTraceServiceResponse

/// Turns finished spans into an OTLP `opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest`,
/// the body of both OTLP/HTTP (`application/x-protobuf`) and OTLP/gRPC, built from the
/// swift-protobuf types generated from opentelemetry-proto.
///
/// We export ourselves rather than through swift-otel: its OTLP exporters are internal to its own
/// tracer pipeline (one exporter per signal, its own batching), so they cannot give us a queue,
/// retry policy, header set and drop accounting per destination, nor export spans that we rebuild
/// from stored events rather than record live.
public struct OTLPTraceEncoder: Sendable {
    /// Resource attributes shared by every span (`service.name`, `service.version`, …).
    public var resourceAttributes: [(key: String, value: AttributeValue)]
    /// The instrumentation scope name.
    public var scopeName: String
    /// The instrumentation scope version; omitted when nil or empty.
    public var scopeVersion: String?

    public init(
        resourceAttributes: [(key: String, value: AttributeValue)], scopeName: String = "keel",
        scopeVersion: String? = nil
    ) {
        self.resourceAttributes = resourceAttributes
        self.scopeName = scopeName
        self.scopeVersion = scopeVersion
    }

    /// The binary protobuf of `request(spans)`. An empty input gives zero bytes, which callers
    /// should not send.
    ///
    /// Framed by hand around each span's own encoding (its `protobuf` when the fan-out made it,
    /// else encoded here): the same bytes the generated types write for the whole request —
    /// fields in number order, each submessage as tag, length, bytes — without encoding a span
    /// again per destination.
    public func encode(_ spans: [SpanRecord]) throws -> [UInt8] {
        guard !spans.isEmpty else { return [] }
        var scopeSpans: [UInt8] = []
        Self.appendField(1, try scope.serializedBytes(), to: &scopeSpans)
        for span in spans { Self.appendField(2, try spanBytes(span), to: &scopeSpans) }
        var resourceSpans: [UInt8] = []
        Self.appendField(1, try resource.serializedBytes(), to: &resourceSpans)
        Self.appendField(2, scopeSpans, to: &resourceSpans)
        var request: [UInt8] = []
        request.reserveCapacity(resourceSpans.count + 8)
        Self.appendField(1, resourceSpans, to: &request)
        return request
    }

    /// One span as an OTLP `Span` message.
    package func spanBytes(_ span: SpanRecord) throws -> [UInt8] {
        if let encoded = span.protobuf { return encoded }
        return try Self.message(span).serializedBytes()
    }

    /// A length-delimited field (wire type 2): tag, varint length, bytes.
    private static func appendField(_ number: UInt8, _ bytes: [UInt8], to out: inout [UInt8]) {
        out.append(number << 3 | 2)
        var length = UInt64(bytes.count)
        while length >= 0x80 {
            out.append(UInt8(truncatingIfNeeded: length) | 0x80)
            length >>= 7
        }
        out.append(UInt8(length))
        out.append(contentsOf: bytes)
    }

    private var scope: Opentelemetry_Proto_Common_V1_InstrumentationScope {
        var scope = Opentelemetry_Proto_Common_V1_InstrumentationScope()
        scope.name = scopeName
        scope.version = scopeVersion ?? ""
        return scope
    }

    private var resource: Opentelemetry_Proto_Resource_V1_Resource {
        var resource = Opentelemetry_Proto_Resource_V1_Resource()
        resource.attributes = resourceAttributes.map { Self.keyValue($0.key, $0.value) }
        return resource
    }

    /// One `ExportTraceServiceRequest` holding all `spans` under one resource and one scope.
    package func request(_ spans: [SpanRecord]) -> OTLPExportTraceServiceRequest {
        var scopeSpans = Opentelemetry_Proto_Trace_V1_ScopeSpans()
        scopeSpans.scope = scope
        scopeSpans.spans = spans.map(Self.message)
        var resourceSpans = Opentelemetry_Proto_Trace_V1_ResourceSpans()
        resourceSpans.resource = resource
        resourceSpans.scopeSpans = [scopeSpans]
        var request = OTLPExportTraceServiceRequest()
        request.resourceSpans = [resourceSpans]
        return request
    }

    /// Nanoseconds since the Unix epoch, as OTLP's `fixed64 *_time_unix_nano` fields want them.
    /// Whole seconds and the fraction are converted apart so the result keeps the `Date`'s precision.
    public static func unixNanoseconds(_ date: Date) -> UInt64 {
        let interval = date.timeIntervalSince1970
        guard interval > 0, interval.isFinite else { return 0 }
        let seconds = interval.rounded(.down)
        let fraction = ((interval - seconds) * 1e9).rounded()
        return UInt64(seconds) * 1_000_000_000 + UInt64(min(fraction, 999_999_999))
    }

    private static func message(_ span: SpanRecord) -> Opentelemetry_Proto_Trace_V1_Span {
        var message = Opentelemetry_Proto_Trace_V1_Span()
        message.traceID = Data(span.traceID)
        message.spanID = Data(span.spanID)
        message.parentSpanID = Data(span.parentSpanID ?? [])
        message.name = span.name
        message.kind =
            switch span.kind {
            case .internal: .internal
            case .server: .server
            case .client: .client
            }
        message.startTimeUnixNano = unixNanoseconds(span.start)
        message.endTimeUnixNano = unixNanoseconds(span.end)
        message.attributes = span.attributes.map { keyValue($0.key, $0.value) }
        switch span.status {
        case .unset:
            break  // no status message at all, as OTLP's default
        case .ok:
            message.status.code = .ok
        case .error(let description):
            message.status.message = description
            message.status.code = .error
        }
        return message
    }

    private static func keyValue(_ key: String, _ value: AttributeValue) -> Opentelemetry_Proto_Common_V1_KeyValue {
        var keyValue = Opentelemetry_Proto_Common_V1_KeyValue()
        keyValue.key = key
        keyValue.value = anyValue(value)
        return keyValue
    }

    private static func anyValue(_ value: AttributeValue) -> Opentelemetry_Proto_Common_V1_AnyValue {
        var any = Opentelemetry_Proto_Common_V1_AnyValue()
        switch value {
        case .string(let string): any.stringValue = string
        case .bool(let bool): any.boolValue = bool
        case .int(let int): any.intValue = int
        case .double(let double): any.doubleValue = double
        case .stringArray(let strings):
            var array = Opentelemetry_Proto_Common_V1_ArrayValue()
            array.values = strings.map { string in
                var element = Opentelemetry_Proto_Common_V1_AnyValue()
                element.stringValue = string
                return element
            }
            any.arrayValue = array
        }
        return any
    }
}
