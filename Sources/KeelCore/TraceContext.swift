import Foundation

/// A W3C trace context (`traceparent: 00-<32 hex trace id>-<16 hex parent span id>-<flags>`),
/// carried from the request that starts a turn to wherever the turn's spans are built.
public struct TraceContext: Sendable, Hashable {
    public var traceID: String
    public var spanID: String

    public init?(traceparent: String) {
        let parts = traceparent.trimmingCharacters(in: .whitespaces).split(separator: "-")
        guard parts.count >= 4, parts[0].count == 2, parts[0] != "ff",
            parts[1].count == 32, parts[2].count == 16,
            Self.isLowerHex(parts[1]), Self.isLowerHex(parts[2]),
            parts[1].contains(where: { $0 != "0" }), parts[2].contains(where: { $0 != "0" })
        else { return nil }
        traceID = String(parts[1])
        spanID = String(parts[2])
    }

    public var traceparent: String { "00-\(traceID)-\(spanID)-01" }

    private static func isLowerHex(_ text: Substring) -> Bool {
        text.utf8.allSatisfy { (0x30...0x39).contains($0) || (0x61...0x66).contains($0) }
    }
}
