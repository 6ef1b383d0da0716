import Foundation

/// How spans travel to a destination.
public enum TraceTransport: String, Sendable, Hashable {
    case httpProtobuf = "http/protobuf"
    case grpc
}

/// One place spans are sent. Header values hold credentials: `description` and `customMirror`
/// show header names only, so logging or dumping a destination is safe.
public struct TraceDestination: Sendable, CustomStringConvertible, CustomReflectable {
    public enum Kind: String, Sendable, Hashable, CaseIterable {
        case langfuse, phoenix, generic, console
    }

    public var kind: Kind
    /// The full traces URL for HTTP, `scheme://host:port` for gRPC, empty for the console.
    public var endpoint: String
    public var transport: TraceTransport
    public var headers: [(name: String, value: String)]
    /// Per-request timeout.
    public var timeout: Duration
    /// gRPC only: plaintext for an endpoint given without a scheme.
    public var insecure: Bool

    public init(
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
    public var name: String { kind.rawValue }

    /// The value of a header, matched case-insensitively.
    public func header(_ name: String) -> String? {
        headers.last { $0.name.lowercased() == name.lowercased() }?.value
    }

    public var description: String {
        kind == .console
            ? "console"
            : "\(name) \(transport.rawValue) \(otlpRedactedURL(endpoint)) headers=\(headers.map(\.name))"
    }

    public var customMirror: Mirror {
        Mirror(
            self,
            children: [
                "kind": kind, "endpoint": otlpRedactedURL(endpoint), "transport": transport,
                "headerNames": headers.map(\.name), "timeout": timeout, "insecure": insecure,
            ])
    }
}
