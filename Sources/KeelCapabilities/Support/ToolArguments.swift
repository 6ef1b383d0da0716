import KeelCore

/// Typed, validating access to the JSON object a model passed as tool arguments.
///
/// Models routinely omit arguments or send the wrong JSON type, so every tool reads its
/// arguments through this type: a problem becomes a `ToolError` whose message names the tool and
/// the argument, which the model can read and correct on its next attempt.
struct ToolArguments: Sendable {
    let tool: String
    let values: [String: JSONValue]

    /// Accepts an object; `null` counts as "no arguments" because some providers send it for
    /// tools without required parameters.
    init(_ arguments: JSONValue, tool: String) throws {
        self.tool = tool
        switch arguments {
        case .object(let object) where object.count == 1 && object["_raw"] != nil:
            // How KeelLLM passes on argument text that was not a JSON object (or nested too deep).
            throw ToolError("\(tool): arguments must be a JSON object nested at most \(JSONNesting.maxDepth) levels deep")
        case .object(let object): values = object
        case .null: values = [:]
        default: throw ToolError("\(tool): arguments must be a JSON object")
        }
    }

    /// The value for `key`, treating an explicit `null` like an absent key.
    private func present(_ key: String) -> JSONValue? {
        guard let value = values[key], value != .null else { return nil }
        return value
    }

    private func missing(_ key: String) -> ToolError {
        ToolError("\(tool): missing required argument '\(key)'")
    }

    private func wrongType(_ key: String, _ expected: String) -> ToolError {
        ToolError("\(tool): argument '\(key)' must be \(expected)")
    }

    func optionalString(_ key: String) throws -> String? {
        guard let value = present(key) else { return nil }
        guard case .string(let string) = value else { throw wrongType(key, "a string") }
        return string
    }

    func string(_ key: String) throws -> String {
        guard let string = try optionalString(key) else { throw missing(key) }
        return string
    }

    func number(_ key: String) throws -> Double {
        guard let value = present(key) else { throw missing(key) }
        guard case .number(let number) = value, number.isFinite else { throw wrongType(key, "a finite number") }
        return number
    }

    func array(_ key: String) throws -> [JSONValue] {
        guard let value = present(key) else { throw missing(key) }
        guard case .array(let array) = value else { throw wrongType(key, "an array") }
        return array
    }

    /// A string restricted to `allowed` (compared exactly); `nil` when absent.
    func optionalChoice(_ key: String, among allowed: [String]) throws -> String? {
        guard let string = try optionalString(key) else { return nil }
        guard allowed.contains(string) else {
            throw ToolError("\(tool): argument '\(key)' must be one of \(allowed.joined(separator: ", ")) (got '\(string)')")
        }
        return string
    }
}
