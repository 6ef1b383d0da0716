import Foundation

/// Reads typed values from the environment with one consistent policy for every module: surrounding
/// whitespace is trimmed and an empty value counts as unset, because `.env` files and compose files
/// commonly produce `NAME=` or trailing newlines that should not be fatal. Every failure is a
/// `ConfigurationError` naming the variable and quoting the value (callers never pass secrets to the
/// quoting readers).
public struct EnvironmentReader: Sendable {
    public let environment: [String: String]

    public init(environment: [String: String]) {
        self.environment = environment
    }

    /// The trimmed value, or nil when unset or empty.
    public func value(_ name: String) -> String? {
        guard let raw = environment[name] else {
            return nil
        }
        let trimmed = raw.trimmingCharacters(in: .whitespacesAndNewlines)
        return trimmed.isEmpty ? nil : trimmed
    }

    public func string(_ name: String, default defaultValue: String) -> String {
        value(name) ?? defaultValue
    }

    /// Which spellings a boolean variable accepts, and how the error describes them.
    public struct BooleanSpelling: Sendable {
        public var trueWords: Set<String>
        public var falseWords: Set<String>
        /// The `expected …` part of the error.
        public var expected: String

        /// `true/false`, `1/0`, `yes/no` in any case: the server's variables.
        public static let standard = BooleanSpelling(
            trueWords: ["true", "1", "yes"], falseWords: ["false", "0", "no"], expected: "true, false, 1, 0, yes or no")
        /// The standard words plus `on/off` (the `BRAINTRUST_*` switches).
        public static let onOff = BooleanSpelling(
            trueWords: ["true", "1", "yes", "on"], falseWords: ["false", "0", "no", "off"], expected: "true or false")
    }

    /// A boolean, nil when unset. Anything outside `spelling` is an error rather than a silent
    /// `false`, so a typo like `DEV_MODE=ture` is noticed.
    public func bool(_ name: String, spelling: BooleanSpelling = .standard) throws(ConfigurationError) -> Bool? {
        guard let text = value(name) else {
            return nil
        }
        let word = text.lowercased()
        if spelling.trueWords.contains(word) { return true }
        if spelling.falseWords.contains(word) { return false }
        throw .invalid(name, expected: spelling.expected, got: text)
    }

    public func bool(
        _ name: String, default defaultValue: Bool, spelling: BooleanSpelling = .standard
    ) throws(ConfigurationError) -> Bool {
        try bool(name, spelling: spelling) ?? defaultValue
    }

    /// A lenient switch for the OpenTelemetry variables (`OTEL_SDK_DISABLED`, `OTEL_CONSOLE_EXPORT`,
    /// `…_INSECURE`): `true`, `1`, `yes` or `on` turn it on, anything else (or unset) leaves it off,
    /// as the OTel SDKs do.
    public func flag(_ name: String) -> Bool {
        Self.isTrue(value(name))
    }

    /// The lenient reading of `flag(_:)` for a value already read.
    public static func isTrue(_ text: String?) -> Bool {
        guard let text else { return false }
        return ["true", "1", "yes", "on"].contains(text.lowercased())
    }

    /// A finite number of seconds greater than zero; fractions are allowed so tests can use
    /// short intervals.
    public func positiveSeconds(_ name: String, default defaultValue: Double) throws(ConfigurationError) -> Double {
        guard let text = value(name) else {
            return defaultValue
        }
        guard let seconds = Double(text), seconds.isFinite, seconds > 0 else {
            throw .invalid(name, expected: "a positive number of seconds", got: text)
        }
        return seconds
    }

    /// A positive finite number, nil when unset (retention days: fractions let tests use seconds).
    public func optionalPositiveNumber(_ name: String) throws(ConfigurationError) -> Double? {
        guard let text = value(name) else { return nil }
        guard let number = Double(text), number.isFinite, number > 0 else {
            throw .invalid(name, expected: "a positive number", got: text)
        }
        return number
    }

    /// A number greater than 0 and at most 1.
    public func fraction(_ name: String, default defaultValue: Double) throws(ConfigurationError) -> Double {
        guard let text = value(name) else { return defaultValue }
        guard let number = Double(text), number > 0, number <= 1 else {
            throw .invalid(name, expected: "a number greater than 0 and at most 1", got: text)
        }
        return number
    }

    /// A whole number of at least 1.
    public func positiveInt(_ name: String, default defaultValue: Int) throws(ConfigurationError) -> Int {
        guard let text = value(name) else {
            return defaultValue
        }
        guard let number = Int(text), number >= 1 else {
            throw .invalid(name, expected: "a whole number of at least 1", got: text)
        }
        return number
    }

    /// A whole number of at least 0.
    public func nonNegativeInt(_ name: String, default defaultValue: Int) throws(ConfigurationError) -> Int {
        guard let text = value(name) else {
            return defaultValue
        }
        guard let number = Int(text), number >= 0 else {
            throw .invalid(name, expected: "a whole number of at least 0", got: text)
        }
        return number
    }

    /// An integer in `minimum...maximum`, nil when unset (the `BRAINTRUST_*` knobs' wording).
    public func int(
        _ name: String, minimum: Int, maximum: Int = 100_000_000
    ) throws(ConfigurationError) -> Int? {
        guard let text = value(name) else { return nil }
        guard let number = Int(text), number >= minimum, number <= maximum else {
            throw .invalid(name, expected: "an integer from \(minimum) to \(maximum)", got: text)
        }
        return number
    }

    /// One of an enum's raw values, case-insensitively.
    public func choice<Choice: RawRepresentable & CaseIterable>(
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
