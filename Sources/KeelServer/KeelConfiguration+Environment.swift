import Foundation

extension KeelConfiguration {
    /// Reads typed values from the environment with one consistent policy: surrounding whitespace
    /// is trimmed and an empty value counts as unset, because `.env` files and compose files
    /// commonly produce `NAME=` or trailing newlines that should not be fatal.
    struct EnvironmentReader {
        let environment: [String: String]

        /// The trimmed value, or nil when unset or empty.
        func value(_ name: String) -> String? {
            guard let raw = environment[name] else {
                return nil
            }
            let trimmed = raw.trimmingCharacters(in: .whitespacesAndNewlines)
            return trimmed.isEmpty ? nil : trimmed
        }

        func string(_ name: String, default defaultValue: String) -> String {
            value(name) ?? defaultValue
        }

        /// Accepts true/false, 1/0, yes/no in any case; anything else is an error rather than a
        /// silent `false`, so a typo like `DEV_MODE=ture` is noticed.
        func bool(_ name: String, default defaultValue: Bool) throws(ConfigurationError) -> Bool {
            guard let text = value(name) else {
                return defaultValue
            }
            switch text.lowercased() {
            case "true", "1", "yes": return true
            case "false", "0", "no": return false
            default:
                throw .invalid(name, expected: "true, false, 1, 0, yes or no", got: text)
            }
        }

        /// A finite number of seconds greater than zero; fractions are allowed so tests can use
        /// short intervals.
        func positiveSeconds(_ name: String, default defaultValue: Double) throws(ConfigurationError) -> Double {
            guard let text = value(name) else {
                return defaultValue
            }
            guard let seconds = Double(text), seconds.isFinite, seconds > 0 else {
                throw .invalid(name, expected: "a positive number of seconds", got: text)
            }
            return seconds
        }

        /// A whole number of at least 1.
        func positiveInt(_ name: String, default defaultValue: Int) throws(ConfigurationError) -> Int {
            guard let text = value(name) else {
                return defaultValue
            }
            guard let number = Int(text), number >= 1 else {
                throw .invalid(name, expected: "a whole number of at least 1", got: text)
            }
            return number
        }

        /// A whole number of at least 0.
        func nonNegativeInt(_ name: String, default defaultValue: Int) throws(ConfigurationError) -> Int {
            guard let text = value(name) else {
                return defaultValue
            }
            guard let number = Int(text), number >= 0 else {
                throw .invalid(name, expected: "a whole number of at least 0", got: text)
            }
            return number
        }

        /// One of an enum's raw values, case-insensitively.
        func choice<Choice: RawRepresentable & CaseIterable>(
            _ name: String, default defaultValue: Choice
        ) throws(ConfigurationError) -> Choice where Choice.RawValue == String {
            guard let text = value(name) else {
                return defaultValue
            }
            guard let choice = Choice(rawValue: text.lowercased()) else {
                let options = Choice.allCases.map(\.rawValue).joined(separator: ", ")
                throw .invalid(name, expected: "one of \(options)", got: text)
            }
            return choice
        }
    }
}

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
