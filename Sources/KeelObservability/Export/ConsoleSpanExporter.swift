import Foundation
import Logging

/// Logs one line per span through swift-log (`OTEL_CONSOLE_EXPORT=true`), for local debugging.
/// Attribute values are shown truncated; message content only appears if content capture put it
/// on the span in the first place.
struct ConsoleSpanExporter: SpanExporter {
    private let logger: Logger
    private let level: Logger.Level

    init(logger: Logger = Logger(label: "keel.trace.console"), level: Logger.Level = .info) {
        self.logger = logger
        self.level = level
    }

    func export(_ spans: [SpanRecord]) async throws {
        for span in spans {
            logger.log(level: level, "\(Self.format(span))")
        }
    }

    /// `span "chat gpt-4o" trace=… span=… parent=… kind=client duration_ms=12.5 status=ok attributes={k=v, …}`
    static func format(_ span: SpanRecord) -> String {
        let kind: String
        switch span.kind {
        case .internal: kind = "internal"
        case .server: kind = "server"
        case .client: kind = "client"
        }
        let status: String
        switch span.status {
        case .unset: status = "unset"
        case .ok: status = "ok"
        case .error(let message): status = "error(\(truncate(message)))"
        }
        let duration = (span.end.timeIntervalSince(span.start) * 1_000_000).rounded() / 1000
        let attributes = span.attributes.map { "\($0.key)=\(render($0.value))" }.joined(separator: ", ")
        return "span \"\(span.name)\" trace=\(HexID.hex(span.traceID)) span=\(HexID.hex(span.spanID)) "
            + "parent=\(span.parentSpanID.map(HexID.hex) ?? "-") kind=\(kind) duration_ms=\(duration) "
            + "status=\(status) attributes={\(attributes)}"
    }

    private static func render(_ value: AttributeValue) -> String {
        switch value {
        case .string(let string): "\"\(truncate(string))\""
        case .int(let int): "\(int)"
        case .double(let double): "\(double)"
        case .bool(let bool): "\(bool)"
        case .stringArray(let strings): "[" + strings.map { "\"\(truncate($0))\"" }.joined(separator: ", ") + "]"
        }
    }

    private static func truncate(_ text: String, limit: Int = 200) -> String {
        let flat = text.replacingOccurrences(of: "\n", with: "\\n")
        return flat.count > limit ? String(flat.prefix(limit)) + "…" : flat
    }
}
