import Foundation
import KeelCore

/// A `host:port` address (`WORKER_GRPC_ADDR`, `WORKER_GRPC_ADDRESS`); an `http://` prefix is accepted.
public struct HostAndPort: Sendable, Hashable, CustomStringConvertible {
    public var host: String
    public var port: Int

    public init(host: String, port: Int) {
        self.host = host
        self.port = port
    }

    public var description: String { "\(host):\(port)" }

    static func parse(_ name: String, _ text: String) throws(ConfigurationError) -> HostAndPort {
        var rest = Substring(text)
        for scheme in ["http://", "grpc://"] where rest.hasPrefix(scheme) { rest = rest.dropFirst(scheme.count) }
        if rest.hasSuffix("/") { rest = rest.dropLast() }
        guard let colon = rest.lastIndex(of: ":"), let port = Int(rest[rest.index(after: colon)...]),
            (0...65_535).contains(port)
        else {
            throw .invalid(name, expected: "host:port, e.g. 127.0.0.1:9001", got: text)
        }
        var host = String(rest[..<colon])
        if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        guard !host.isEmpty else { throw .invalid(name, expected: "host:port, e.g. 127.0.0.1:9001", got: text) }
        return HostAndPort(host: host, port: port)
    }
}
