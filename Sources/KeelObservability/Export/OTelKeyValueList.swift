import Foundation

/// The OpenTelemetry environment spec's `k=v,k2=v2` lists (`OTEL_RESOURCE_ATTRIBUTES`,
/// `OTEL_EXPORTER_OTLP_HEADERS`, `PHOENIX_CLIENT_HEADERS`): percent-encoded keys and values, W3C
/// Baggage style. Bad entries are skipped with a warning that never quotes them (header values
/// are credentials).
enum OTelKeyValueList {
    static func parse(_ text: String?, variable: String, warnings: inout [String]) -> [(key: String, value: String)] {
        guard let text else { return [] }
        var pairs: [(key: String, value: String)] = []
        for (index, entry) in text.split(separator: ",").enumerated() {
            let entry = entry.trimmingCharacters(in: .whitespaces)
            guard !entry.isEmpty else { continue }
            guard let equals = entry.firstIndex(of: "=") else {
                warnings.append("\(variable): entry \(index + 1) has no '=' and was ignored")
                continue
            }
            let key = percentDecoded(entry[..<equals].trimmingCharacters(in: .whitespaces))
            let value = percentDecoded(entry[entry.index(after: equals)...].trimmingCharacters(in: .whitespaces))
            guard !key.isEmpty else {
                warnings.append("\(variable): entry \(index + 1) has an empty name and was ignored")
                continue
            }
            pairs.append((key, value))
        }
        return pairs
    }

    /// The list as HTTP headers: names must be tokens, values free of CR, LF and NUL.
    static func headers(_ text: String?, variable: String, warnings: inout [String]) -> [(name: String, value: String)] {
        var headers: [(name: String, value: String)] = []
        let tokenCharacters = CharacterSet(charactersIn: "!#$%&'*+-.^_`|~").union(.alphanumerics)
        for (index, pair) in parse(text, variable: variable, warnings: &warnings).enumerated() {
            guard pair.key.unicodeScalars.allSatisfy({ $0.isASCII && tokenCharacters.contains($0) }) else {
                warnings.append("\(variable): header \(index + 1) has an invalid name and was ignored")
                continue
            }
            guard !pair.value.unicodeScalars.contains(where: { $0 == "\r" || $0 == "\n" || $0 == "\0" }) else {
                warnings.append("\(variable): header \(TracingSettings.quoted(pair.key)) has an invalid value and was ignored")
                continue
            }
            setHeader(&headers, pair.key, pair.value)
        }
        return headers
    }

    /// Replaces any header of the same name (case-insensitively), keeping the new one last.
    static func setHeader(_ headers: inout [(name: String, value: String)], _ name: String, _ value: String) {
        headers.removeAll { $0.name.lowercased() == name.lowercased() }
        headers.append((name, value))
    }

    private static func percentDecoded(_ text: String) -> String {
        text.removingPercentEncoding ?? text
    }
}
