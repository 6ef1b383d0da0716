import Foundation

/// How spans travel to a destination.
enum TraceTransport: String, Sendable, Hashable {
    case httpProtobuf = "http/protobuf"
    case grpc
}

/// One place spans are sent. Header values hold credentials: `description` and `customMirror`
/// show header names only, so logging or dumping a destination is safe.
struct TraceDestination: Sendable, CustomStringConvertible, CustomReflectable {
    enum Kind: String, Sendable, Hashable, CaseIterable {
        case langfuse, phoenix, generic, console
    }

    var kind: Kind
    /// The full traces URL for HTTP, `scheme://host:port` for gRPC, empty for the console.
    var endpoint: String
    var transport: TraceTransport
    var headers: [(name: String, value: String)]
    /// Per-request timeout.
    var timeout: Duration
    /// gRPC only: plaintext for an endpoint given without a scheme.
    var insecure: Bool

    init(
        kind: Kind, endpoint: String = "", transport: TraceTransport = .httpProtobuf,
        headers: [(name: String, value: String)] = [], timeout: Duration = .seconds(10), insecure: Bool = false
    ) {
        self.kind = kind
        self.endpoint = endpoint
        self.transport = transport
        self.headers = headers
        self.timeout = timeout
        self.insecure = insecure
    }

    /// `langfuse`, `phoenix`, `generic` or `console`: the pipeline's name in logs and metrics.
    var name: String { kind.rawValue }

    /// The value of a header, matched case-insensitively.
    func header(_ name: String) -> String? {
        headers.last { $0.name.lowercased() == name.lowercased() }?.value
    }

    var description: String {
        kind == .console
            ? "console"
            : "\(name) \(transport.rawValue) \(otlpRedactedURL(endpoint)) headers=\(headers.map(\.name))"
    }

    var customMirror: Mirror {
        Mirror(
            self,
            children: [
                "kind": kind, "endpoint": otlpRedactedURL(endpoint), "transport": transport,
                "headerNames": headers.map(\.name), "timeout": timeout, "insecure": insecure,
            ])
    }
}
