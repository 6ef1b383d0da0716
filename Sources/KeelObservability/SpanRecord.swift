import Foundation

/// KeelObservability — turns the event log into traces, Braintrust rows and metrics.
///
/// Spans are not produced by instrumenting drivers: a `TurnTraceBuilder` reads each turn's
/// persisted events and emits finished `SpanRecord`s, so what a backend shows is exactly what
/// the log says happened. Each destination gets the records through its own bounded pipeline.

/// An attribute value, as OTLP's AnyValue allows it.
public enum AttributeValue: Sendable, Hashable {
    case string(String)
    case int(Int64)
    case double(Double)
    case bool(Bool)
    case stringArray([String])
}

/// A finished span.
public struct SpanRecord: Sendable, Hashable {
    public enum Kind: Int, Sendable, Hashable {
        // Values are OTLP's SpanKind numbers.
        case `internal` = 1
        case server = 2
        case client = 3
    }

    public enum Status: Sendable, Hashable {
        case unset
        case ok
        case error(String)
    }

    /// 16 bytes.
    public var traceID: [UInt8]
    /// 8 bytes.
    public var spanID: [UInt8]
    /// 8 bytes, nil for the root.
    public var parentSpanID: [UInt8]?
    public var name: String
    public var kind: Kind
    public var start: Date
    public var end: Date
    /// Ordered, keys unique.
    public var attributes: [(key: String, value: AttributeValue)]
    public var status: Status
    /// The span as an OTLP `Span` message, encoded once by the fan-out so that several protobuf
    /// destinations do not each encode it (nil: the encoder does it). Not part of equality.
    package var protobuf: [UInt8]?

    public init(
        traceID: [UInt8], spanID: [UInt8], parentSpanID: [UInt8]?, name: String, kind: Kind = .internal, start: Date,
        end: Date, attributes: [(key: String, value: AttributeValue)] = [], status: Status = .unset
    ) {
        self.traceID = traceID
        self.spanID = spanID
        self.parentSpanID = parentSpanID
        self.name = name
        self.kind = kind
        self.start = start
        self.end = end
        self.attributes = attributes
        self.status = status
    }

    public subscript(attribute key: String) -> AttributeValue? {
        attributes.first { $0.key == key }?.value
    }

    public static func == (lhs: SpanRecord, rhs: SpanRecord) -> Bool {
        lhs.traceID == rhs.traceID && lhs.spanID == rhs.spanID && lhs.parentSpanID == rhs.parentSpanID
            && lhs.name == rhs.name && lhs.kind == rhs.kind && lhs.start == rhs.start && lhs.end == rhs.end
            && lhs.status == rhs.status && lhs.attributes.map(\.key) == rhs.attributes.map(\.key)
            && lhs.attributes.map(\.value) == rhs.attributes.map(\.value)
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(traceID)
        hasher.combine(spanID)
    }
}

/// Hex helpers for ids.
public enum HexID {
    public static func bytes(fromHex hex: some StringProtocol) -> [UInt8]? {
        var bytes: [UInt8] = []
        var iterator = hex.utf8.makeIterator()
        while let high = iterator.next() {
            guard let low = iterator.next(), let h = nibble(high), let l = nibble(low) else { return nil }
            bytes.append(h << 4 | l)
        }
        return bytes
    }

    public static func hex(_ bytes: [UInt8]) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count * 2)
        for byte in bytes {
            out.append(digits[Int(byte >> 4)])
            out.append(digits[Int(byte & 0x0F)])
        }
        return String(decoding: out, as: UTF8.self)
    }

    private static func nibble(_ c: UInt8) -> UInt8? {
        switch c {
        case 0x30...0x39: c - 0x30
        case 0x61...0x66: c - 0x61 + 10
        case 0x41...0x46: c - 0x41 + 10
        default: nil
        }
    }
}

/// A destination for finished spans (an OTLP endpoint, a test recorder…).
public protocol SpanExporter: Sendable {
    /// Sends one batch. Throws `ExportError` so the pipeline can decide whether to retry.
    func export(_ spans: [SpanRecord]) async throws
}

/// How an export attempt failed.
public enum ExportError: Error, Sendable, Hashable {
    /// Worth retrying (429, 502, 503, 504, timeouts, connection failures), after `retryAfter` if given.
    case retryable(status: Int?, retryAfter: Double?)
    /// Not worth retrying (other 4xx, bad configuration).
    case permanent(status: Int?, detail: String)
}
