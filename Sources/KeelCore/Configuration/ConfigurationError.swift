/// A configuration problem found at startup, reported as one line that names the environment
/// variable and says what is expected, e.g.
/// `DEPLOYMENT_GRADE: expected one of dev, poc, preview, prod (got "staging")`.
///
/// The one error type of every module's `Settings(environment:)` (server, tracing, Braintrust,
/// worker). Operators read it in container logs, so it is a single line with the offending value
/// quoted and escaped; values of secret variables are never included.
public struct ConfigurationError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The environment variable at fault, e.g. `PORT`.
    public let variable: String
    /// What is wrong and what is expected, without the variable name.
    public let message: String

    public init(variable: String, message: String) {
        self.variable = variable
        self.message = message
    }

    /// An error that quotes the rejected value; only for non-secret variables.
    public static func invalid(_ variable: String, expected: String, got value: String) -> ConfigurationError {
        ConfigurationError(variable: variable, message: "expected \(expected) (got \(quoted(value)))")
    }

    public var description: String {
        "\(variable): \(message)"
    }

    /// Quotes a value for a one-line message: escapes quotes, backslashes and control characters
    /// and truncates long values so a pasted blob cannot flood or break the log line. The one
    /// escaping routine for configuration errors and warnings.
    public static func quoted(_ value: String, limit: Int = 80) -> String {
        var escaped = ""
        for scalar in value.unicodeScalars.prefix(limit) {
            switch scalar {
            case "\"": escaped += "\\\""
            case "\\": escaped += "\\\\"
            case "\n": escaped += "\\n"
            case "\r": escaped += "\\r"
            case "\t": escaped += "\\t"
            default:
                if scalar.properties.generalCategory == .control || scalar.properties.generalCategory == .format {
                    escaped += "\\u{\(String(scalar.value, radix: 16))}"
                } else {
                    escaped.unicodeScalars.append(scalar)
                }
            }
        }
        let truncated = value.unicodeScalars.count > limit ? "…" : ""
        return "\"\(escaped)\(truncated)\""
    }
}
