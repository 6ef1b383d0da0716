import Foundation
import KeelCore
import PostgresNIO

extension PostgresStore {
    /// Where and how to connect, parsed from a libpq-style URL:
    ///
    ///     postgres://user:password@host:port/database?sslmode=disable
    ///     postgresql://user@/database?host=/var/run/postgresql&port=5433     (unix socket directory)
    ///
    /// Scheme `postgres` or `postgresql`. Every part is percent-decoded. Defaults: user `postgres`,
    /// host `localhost`, port 5432, database = the server's default (the user's name).
    /// Query parameters: `sslmode` (`disable`, `allow`/`prefer` — the default —, `require`, `verify-ca`,
    /// `verify-full`; `require` encrypts without checking the certificate, as in libpq), `sslrootcert`
    /// (CA bundle file for the verify modes), `host` (a path starting with `/` is a unix socket
    /// directory; the socket is `<dir>/.s.PGSQL.<port>` and TLS is off), `port`, `user`, `password`,
    /// `dbname`, `connect_timeout` (seconds), `application_name`. Other parameters are ignored.
    public struct Configuration: Sendable, CustomStringConvertible {
        public enum SSLMode: String, Sendable {
            case disable, prefer, require
            case verifyCA = "verify-ca"
            case verifyFull = "verify-full"
        }

        public var host: String
        public var port: Int
        /// A unix socket directory; when set, `host` is not used.
        public var socketDirectory: String?
        public var username: String
        public var password: String?
        public var database: String?
        public var sslMode: SSLMode
        public var sslRootCertificatePath: String?
        public var applicationName: String?
        public var connectTimeout: Duration
        /// Size limit of the query pool. The LISTEN connection is separate and not counted.
        public var maxConnections: Int

        public init(url: String, maxConnections: Int = 20) throws {
            self = try Self.parse(url)
            guard maxConnections > 0 else {
                throw PostgresStoreError.invalidConfiguration("maxConnections must be at least 1 (got \(maxConnections))")
            }
            self.maxConnections = maxConnections
        }

        public init(
            host: String = "localhost", port: Int = 5432, socketDirectory: String? = nil, username: String = "postgres",
            password: String? = nil, database: String? = nil, sslMode: SSLMode = .prefer, maxConnections: Int = 20
        ) {
            self.host = host
            self.port = port
            self.socketDirectory = socketDirectory
            self.username = username
            self.password = password
            self.database = database
            self.sslMode = sslMode
            self.sslRootCertificatePath = nil
            self.applicationName = nil
            self.connectTimeout = .seconds(10)
            self.maxConnections = maxConnections
        }

        /// The same server and credentials, another database.
        public func database(_ name: String) -> Configuration {
            var copy = self
            copy.database = name
            return copy
        }

        /// The unix socket file, when connecting through a socket directory.
        public var unixSocketPath: String? {
            socketDirectory.map { ($0.hasSuffix("/") ? String($0.dropLast()) : $0) + "/.s.PGSQL.\(port)" }
        }

        /// Never includes the password.
        public var description: String {
            let user = username + (password == nil ? "" : ":***")
            let place = socketDirectory.map { "[socket \($0)]:\(port)" } ?? "\(host):\(port)"
            return "postgres://\(user)@\(place)/\(database ?? "") (sslmode \(sslMode.rawValue))"
        }

        /// The configuration of the query pool.
        public func clientConfiguration() throws -> PostgresClient.Configuration {
            var configuration: PostgresClient.Configuration
            if let unixSocketPath {
                configuration = .init(
                    unixSocketPath: unixSocketPath, username: username, password: password, database: database)
            } else {
                let tls: PostgresClient.Configuration.TLS =
                    switch sslMode {
                    case .disable: .disable
                    case .prefer: .prefer(try tlsConfiguration())
                    case .require, .verifyCA, .verifyFull: .require(try tlsConfiguration())
                    }
                configuration = .init(
                    host: host, port: port, username: username, password: password, database: database, tls: tls)
            }
            configuration.options.maximumConnections = maxConnections
            configuration.options.connectTimeout = connectTimeout
            if let applicationName {
                configuration.options.additionalStartupParameters = [("application_name", applicationName)]
            }
            return configuration
        }

        /// The configuration of a single connection (the LISTEN connection, administrative tasks).
        public func connectionConfiguration(applicationName: String? = nil) throws -> PostgresConnection.Configuration {
            var configuration: PostgresConnection.Configuration
            if let unixSocketPath {
                configuration = .init(
                    unixSocketPath: unixSocketPath, username: username, password: password, database: database)
            } else {
                let tls: PostgresConnection.Configuration.TLS =
                    switch sslMode {
                    case .disable: .disable
                    case .prefer: .prefer(try NIOSSLContext(configuration: tlsConfiguration()))
                    case .require, .verifyCA, .verifyFull: .require(try NIOSSLContext(configuration: tlsConfiguration()))
                    }
                configuration = .init(
                    host: host, port: port, username: username, password: password, database: database, tls: tls)
            }
            configuration.options.connectTimeout = .milliseconds(Int64(connectTimeout.wholeMilliseconds))
            if let name = applicationName ?? self.applicationName {
                configuration.options.additionalStartupParameters = [("application_name", name)]
            }
            return configuration
        }

        private func tlsConfiguration() throws -> TLSConfiguration {
            var tls = TLSConfiguration.makeClientConfiguration()
            switch sslMode {
            case .disable, .prefer, .require: tls.certificateVerification = .none
            case .verifyCA: tls.certificateVerification = .noHostnameVerification
            case .verifyFull: tls.certificateVerification = .fullVerification
            }
            if let sslRootCertificatePath {
                tls.trustRoots = .file(sslRootCertificatePath)
            }
            return tls
        }

        // MARK: URL parsing

        static func parse(_ url: String) throws -> Configuration {
            func invalid(_ reason: String) -> PostgresStoreError {
                .invalidConfiguration("database URL: \(reason)")
            }
            func decode(_ text: Substring, _ what: String) throws -> String {
                guard let decoded = String(text).removingPercentEncoding else {
                    throw invalid("bad percent-encoding in the \(what)")
                }
                return decoded
            }

            guard let schemeEnd = url.range(of: "://") else {
                throw invalid("expected postgres://user:password@host:port/database")
            }
            let scheme = url[..<schemeEnd.lowerBound].lowercased()
            guard scheme == "postgres" || scheme == "postgresql" else {
                throw invalid("the scheme must be postgres:// or postgresql://, not \(scheme)://")
            }
            var rest = url[schemeEnd.upperBound...]
            if let hash = rest.firstIndex(of: "#") { rest = rest[..<hash] }
            var queryText: Substring = ""
            if let question = rest.firstIndex(of: "?") {
                queryText = rest[rest.index(after: question)...]
                rest = rest[..<question]
            }
            var pathText: Substring = ""
            if let slash = rest.firstIndex(of: "/") {
                pathText = rest[rest.index(after: slash)...]
                rest = rest[..<slash]
            }
            var authority = rest
            var configuration = Configuration()
            if let at = authority.lastIndex(of: "@") {
                let userInfo = authority[..<at]
                authority = authority[authority.index(after: at)...]
                if let colon = userInfo.firstIndex(of: ":") {
                    configuration.username = try decode(userInfo[..<colon], "user name")
                    configuration.password = try decode(userInfo[userInfo.index(after: colon)...], "password")
                } else if !userInfo.isEmpty {
                    configuration.username = try decode(userInfo, "user name")
                }
            }
            var hostText: Substring = authority
            var portText: Substring?
            if authority.hasPrefix("[") {
                guard let close = authority.firstIndex(of: "]") else { throw invalid("unterminated IPv6 address") }
                hostText = authority[authority.index(after: authority.startIndex)..<close]
                let after = authority[authority.index(after: close)...]
                if after.hasPrefix(":") {
                    portText = after.dropFirst()
                } else if !after.isEmpty {
                    throw invalid("unexpected text after the IPv6 address")
                }
            } else if let colon = authority.lastIndex(of: ":") {
                hostText = authority[..<colon]
                portText = authority[authority.index(after: colon)...]
            }
            var host = try decode(hostText, "host")
            var port = configuration.port
            if let portText, !portText.isEmpty {
                guard let value = Int(portText), (1...65535).contains(value) else { throw invalid("bad port '\(portText)'") }
                port = value
            }
            if !pathText.isEmpty {
                configuration.database = try decode(pathText, "database name")
            }

            for pair in queryText.split(separator: "&") where !pair.isEmpty {
                let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
                let key = try decode(parts[0], "query")
                let value = parts.count > 1 ? try decode(parts[1], "query") : ""
                switch key {
                case "sslmode":
                    switch value {
                    case "disable": configuration.sslMode = .disable
                    case "allow", "prefer": configuration.sslMode = .prefer
                    case "require": configuration.sslMode = .require
                    case "verify-ca": configuration.sslMode = .verifyCA
                    case "verify-full": configuration.sslMode = .verifyFull
                    default: throw invalid("unknown sslmode '\(value)'")
                    }
                case "sslrootcert": configuration.sslRootCertificatePath = value
                case "host": host = value
                case "port":
                    guard let value = Int(value), (1...65535).contains(value) else { throw invalid("bad port '\(value)'") }
                    port = value
                case "user": configuration.username = value
                case "password": configuration.password = value
                case "dbname": configuration.database = value
                case "application_name": configuration.applicationName = value
                case "connect_timeout":
                    guard let seconds = Int(value), seconds >= 0 else { throw invalid("bad connect_timeout '\(value)'") }
                    if seconds > 0 { configuration.connectTimeout = .seconds(seconds) }
                default: continue
                }
            }
            configuration.port = port
            if host.hasPrefix("/") {
                configuration.socketDirectory = host
            } else if !host.isEmpty {
                configuration.host = host
            }
            if configuration.username.isEmpty { throw invalid("empty user name") }
            return configuration
        }
    }
}

/// Errors of the PostgreSQL store itself (domain errors are `StoreError`).
public enum PostgresStoreError: Error, Sendable, CustomStringConvertible {
    case invalidConfiguration(String)
    case migrationFailed(module: String, version: Int, name: String, reason: String)
    case corruptRow(String)
    case notRunning

    public var description: String {
        switch self {
        case .invalidConfiguration(let reason): "invalid PostgreSQL configuration: \(reason)"
        case .migrationFailed(let module, let version, let name, let reason):
            "PostgreSQL migration \(module) \(version) (\(name)) failed: \(reason)"
        case .corruptRow(let reason): "unreadable row in PostgreSQL: \(reason)"
        case .notRunning: "the PostgreSQL store has stopped"
        }
    }
}
