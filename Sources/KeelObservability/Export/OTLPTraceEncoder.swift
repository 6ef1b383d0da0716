import Foundation

/// Encodes finished spans as an OTLP `opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest`
/// in binary protobuf, the body of both OTLP/HTTP (`application/x-protobuf`) and OTLP/gRPC.
///
/// The encoding is hand-written on purpose. swift-otel's OTLP exporters are internal to its own
/// tracer pipeline (one exporter per signal, its own batching), so they cannot give us a queue,
/// retry policy, header set and drop accounting per destination, nor export spans that we rebuild
/// from stored events rather than record live. The message subset we need is small and stable:
///
/// ```
/// ExportTraceServiceRequest { repeated ResourceSpans resource_spans = 1; }
/// ResourceSpans   { Resource resource = 1; repeated ScopeSpans scope_spans = 2; }
/// Resource        { repeated KeyValue attributes = 1; }
/// ScopeSpans      { InstrumentationScope scope = 1; repeated Span spans = 2; }
/// InstrumentationScope { string name = 1; string version = 2; }
/// Span { bytes trace_id = 1; bytes span_id = 2; bytes parent_span_id = 4; string name = 5;
///        SpanKind kind = 6; fixed64 start_time_unix_nano = 7; fixed64 end_time_unix_nano = 8;
///        repeated KeyValue attributes = 9; Status status = 15; }
/// Status   { string message = 2; StatusCode code = 3; }   // 0 unset, 1 ok, 2 error
/// KeyValue { string key = 1; AnyValue value = 2; }
/// AnyValue { oneof value { string string_value = 1; bool bool_value = 2; int64 int_value = 3;
///                          double double_value = 4; ArrayValue array_value = 5; } }
/// ArrayValue { repeated AnyValue values = 1; }
/// ```
///
/// Field numbers were checked against opentelemetry-proto's `trace/v1/trace.proto`,
/// `common/v1/common.proto`, `resource/v1/resource.proto` and
/// `collector/trace/v1/trace_service.proto`.
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

    /// One `ExportTraceServiceRequest` holding all `spans` under one resource and one scope.
    /// An empty input gives an empty request (zero bytes), which callers should not send.
    public func encode(_ spans: [SpanRecord]) -> [UInt8] {
        guard !spans.isEmpty else { return [] }
        var request = ProtobufWriter(reservingCapacity: 256 + spans.count * 256)
        request.writeMessageField(1) { resourceSpans in  // ExportTraceServiceRequest.resource_spans
            resourceSpans.writeMessageField(1) { resource in  // ResourceSpans.resource
                for attribute in resourceAttributes {
                    resource.writeMessageField(1) { Self.writeKeyValue(&$0, attribute.key, attribute.value) }
                }
            }
            resourceSpans.writeMessageField(2) { scopeSpans in  // ResourceSpans.scope_spans
                scopeSpans.writeMessageField(1) { scope in  // ScopeSpans.scope
                    if !scopeName.isEmpty { scope.writeStringField(1, scopeName) }
                    if let scopeVersion, !scopeVersion.isEmpty { scope.writeStringField(2, scopeVersion) }
                }
                for span in spans {
                    scopeSpans.writeMessageField(2) { Self.writeSpan(&$0, span) }  // ScopeSpans.spans
                }
            }
        }
        return request.bytes
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

    private static func writeSpan(_ writer: inout ProtobufWriter, _ span: SpanRecord) {
        writer.writeBytesField(1, span.traceID)
        writer.writeBytesField(2, span.spanID)
        if let parent = span.parentSpanID, !parent.isEmpty { writer.writeBytesField(4, parent) }
        writer.writeStringField(5, span.name)
        writer.writeVarintField(6, UInt64(span.kind.rawValue))
        writer.writeFixed64Field(7, unixNanoseconds(span.start))
        writer.writeFixed64Field(8, unixNanoseconds(span.end))
        for attribute in span.attributes {
            writer.writeMessageField(9) { writeKeyValue(&$0, attribute.key, attribute.value) }
        }
        switch span.status {
        case .unset:
            break
        case .ok:
            writer.writeMessageField(15) { $0.writeVarintField(3, 1) }
        case .error(let message):
            writer.writeMessageField(15) { status in
                if !message.isEmpty { status.writeStringField(2, message) }
                status.writeVarintField(3, 2)
            }
        }
    }

    private static func writeKeyValue(_ writer: inout ProtobufWriter, _ key: String, _ value: AttributeValue) {
        writer.writeStringField(1, key)
        writer.writeMessageField(2) { writeAnyValue(&$0, value) }
    }

    private static func writeAnyValue(_ writer: inout ProtobufWriter, _ value: AttributeValue) {
        switch value {
        case .string(let string): writer.writeStringField(1, string)
        case .bool(let bool): writer.writeBoolField(2, bool)
        case .int(let int): writer.writeInt64Field(3, int)
        case .double(let double): writer.writeDoubleField(4, double)
        case .stringArray(let strings):
            writer.writeMessageField(5) { array in
                for string in strings {
                    array.writeMessageField(1) { $0.writeStringField(1, string) }
                }
            }
        }
    }
}
