import Foundation
import KeelCore

/// Parsers for the structured settings (paths, origins, URLs, ports). Each throws a
/// `ConfigurationError` naming the variable so a bad deployment fails at startup with a clear
/// message instead of misrouting requests later.
extension KeelConfiguration {
    /// Normalises `API_PREFIX`: `""` and `"/"` mean no prefix; otherwise the value must start with
    /// `/` and trailing slashes are dropped so routes can be built as `prefix + "/v1/..."`.
    static func parseAPIPrefix(_ text: String?) throws(ConfigurationError) -> String {
        let name = "API_PREFIX"
        guard let text else {
            return ""
        }
        let expected = "a path starting with / such as /api, without spaces, ? or #"
        let forbidden = text.unicodeScalars.contains { scalar in
            scalar == "?" || scalar == "#" || CharacterSet.whitespacesAndNewlines.contains(scalar)
                || CharacterSet.controlCharacters.contains(scalar)
        }
        guard text.hasPrefix("/"), !forbidden else {
            throw .invalid(name, expected: expected, got: text)
        }
        var prefix = Substring(text)
        while prefix.hasSuffix("/") {
            prefix = prefix.dropLast()
        }
        guard !prefix.contains("//") else {
            throw .invalid(name, expected: expected, got: text)
        }
        return String(prefix)
    }

    /// Parses `CORS_ALLOWED_ORIGINS`: comma-separated `scheme://host[:port]` origins.
    ///
    /// `*` is refused because the API sends `Access-Control-Allow-Credentials: true`, which
    /// browsers do not allow together with a wildcard. Scheme and host are lowercased because
    /// browsers send them that way in the `Origin` header, which is compared verbatim.
    static func parseCORSOrigins(_ text: String?) throws(ConfigurationError) -> [String] {
        let name = "CORS_ALLOWED_ORIGINS"
        guard let text else {
            return []
        }
        let entries = text.split(separator: ",")
            .map { $0.trimmingCharacters(in: .whitespacesAndNewlines) }
            .filter { !$0.isEmpty }
        var origins: [String] = []
        for entry in entries {
            if entry == "*" {
                throw ConfigurationError(
                    variable: name,
                    message: "wildcard is not supported because credentials are allowed; list origins such as https://app.example.com"
                )
            }
            guard let origin = normalisedOrigin(entry) else {
                throw .invalid(name, expected: "comma-separated origins of the form scheme://host[:port] with no path, such as https://app.example.com", got: entry)
            }
            if !origins.contains(origin) {
                origins.append(origin)
            }
        }
        return origins
    }

    /// Returns `scheme://host[:port]` lowercased, or nil if the entry has a path, query, fragment,
    /// user info, or an invalid scheme, host or port.
    static func normalisedOrigin(_ entry: String) -> String? {
        guard let separator = entry.range(of: "://") else {
            return nil
        }
        let scheme = entry[..<separator.lowerBound].lowercased()
        let authority = entry[separator.upperBound...].lowercased()
        guard let first = scheme.unicodeScalars.first, isASCIILetter(first),
              scheme.unicodeScalars.allSatisfy({ isASCIILetter($0) || isASCIIDigit($0) || "+-.".unicodeScalars.contains($0) })
        else {
            return nil
        }
        let host: Substring
        let port: Substring?
        if authority.hasPrefix("[") {
            // IPv6 literal: [::1] or [::1]:8080
            guard let close = authority.firstIndex(of: "]") else {
                return nil
            }
            host = authority[authority.startIndex...close]
            let rest = authority[authority.index(after: close)...]
            if rest.isEmpty {
                port = nil
            } else if rest.hasPrefix(":") {
                port = rest.dropFirst()
            } else {
                return nil
            }
            let inner = host.dropFirst().dropLast()
            guard !inner.isEmpty, inner.unicodeScalars.allSatisfy({ isHexDigit($0) || $0 == ":" || $0 == "." }) else {
                return nil
            }
        } else {
            let parts = authority.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false)
            host = parts[0]
            port = parts.count > 1 ? parts[1] : nil
            guard !host.isEmpty,
                  host.unicodeScalars.allSatisfy({ isASCIILetter($0) || isASCIIDigit($0) || $0 == "-" || $0 == "." })
            else {
                return nil
            }
        }
        if let port {
            guard !port.isEmpty, port.unicodeScalars.allSatisfy(isASCIIDigit),
                  let number = Int(port), (1...65_535).contains(number)
            else {
                return nil
            }
        }
        return "\(scheme)://\(authority)"
    }

    /// Parses `PORT`: 0 (ephemeral, useful in tests) through 65535.
    static func parsePort(_ text: String?) throws(ConfigurationError) -> Int {
        guard let text else {
            return 9000
        }
        guard let port = Int(text), (0...65_535).contains(port) else {
            throw .invalid("PORT", expected: "a port number from 0 to 65535", got: text)
        }
        return port
    }

    /// Parses a provider base URL override: an absolute http(s) URL with a host. Trailing slashes
    /// are dropped so drivers can append paths without producing `//`.
    static func parseBaseURL(_ name: String, _ text: String?) throws(ConfigurationError) -> String? {
        guard let text else {
            return nil
        }
        let expected = "an absolute http:// or https:// URL such as https://api.example.com/v1"
        guard let components = URLComponents(string: text),
              let scheme = components.scheme?.lowercased(), scheme == "http" || scheme == "https",
              let host = components.host, !host.isEmpty,
              components.query == nil, components.fragment == nil
        else {
            throw .invalid(name, expected: expected, got: displayURL(text))
        }
        var url = Substring(text)
        while url.hasSuffix("/") {
            url = url.dropLast()
        }
        return String(url)
    }

    /// Removes user info from a URL for display, so credentials embedded in a base URL never reach
    /// the startup log.
    static func displayURL(_ text: String) -> String {
        guard var components = URLComponents(string: text) else {
            return text
        }
        guard components.user != nil || components.password != nil else {
            return text
        }
        components.user = nil
        components.password = nil
        return components.string ?? "set"
    }

    private static func isASCIILetter(_ scalar: Unicode.Scalar) -> Bool {
        ("a"..."z").contains(scalar) || ("A"..."Z").contains(scalar)
    }

    private static func isASCIIDigit(_ scalar: Unicode.Scalar) -> Bool {
        ("0"..."9").contains(scalar)
    }

    private static func isHexDigit(_ scalar: Unicode.Scalar) -> Bool {
        isASCIIDigit(scalar) || ("a"..."f").contains(scalar) || ("A"..."F").contains(scalar)
    }
}
