import KeelCore

/// `add`, `subtract`, `multiply`, `divide` over two numbers: the `test_math` capability.
///
/// These exist to exercise tool calling end to end (deterministic results, one failure mode), so
/// one struct parameterised by the operation covers all four tools.
public struct ArithmeticTool: Tool {
    public enum Operation: String, CaseIterable, Sendable {
        case add, subtract, multiply, divide

        var summary: String {
            switch self {
            case .add: "Add two numbers (a + b)."
            case .subtract: "Subtract b from a (a - b)."
            case .multiply: "Multiply two numbers (a * b)."
            case .divide: "Divide a by b (a / b)."
            }
        }

        func apply(_ a: Double, _ b: Double) throws -> Double {
            switch self {
            case .add: return a + b
            case .subtract: return a - b
            case .multiply: return a * b
            case .divide:
                guard b != 0 else { throw ToolError("divide: division by zero") }
                return a / b
            }
        }
    }

    public let operation: Operation

    public init(_ operation: Operation) {
        self.operation = operation
    }

    public var definition: ToolDefinition {
        ToolDefinition(
            name: operation.rawValue,
            description: operation.summary,
            parameters: JSONSchema.object(
                ["a": JSONSchema.number("First operand."), "b": JSONSchema.number("Second operand.")],
                required: ["a", "b"]
            )
        )
    }

    public func call(_ arguments: JSONValue, context: ToolContext) async throws -> JSONValue {
        let arguments = try ToolArguments(arguments, tool: operation.rawValue)
        let result = try operation.apply(try arguments.number("a"), try arguments.number("b"))
        // JSON has no infinity; overflow is reported rather than sent as an unencodable value.
        guard result.isFinite else { throw ToolError("\(operation.rawValue): the result is too large to represent") }
        return ["result": .number(result)]
    }
}
