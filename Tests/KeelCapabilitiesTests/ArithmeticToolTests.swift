import KeelCore
import Testing
@testable import KeelCapabilities

@Suite("test_math tools")
struct ArithmeticToolTests {
    @Test("computes each operation", arguments: [
        (ArithmeticTool.Operation.add, 7.0, 5.0, 12.0),
        (.subtract, 7, 5, 2),
        (.multiply, 7, 5, 35),
        (.divide, 7, 2, 3.5),
        (.add, -1.5, 0.25, -1.25),
    ])
    func computes(operation: ArithmeticTool.Operation, a: Double, b: Double, expected: Double) async throws {
        let result = try await TestSupport.call(ArithmeticTool(operation), ["a": .number(a), "b": .number(b)])
        #expect(result == ["result": .number(expected)])
    }

    @Test("division by zero is a tool error")
    func divideByZero() async {
        let message = await TestSupport.toolErrorMessage { _ = try await TestSupport.call(ArithmeticTool(.divide), ["a": 1, "b": 0]) }
        #expect(message == "divide: division by zero")
    }

    @Test("operands must be present numbers")
    func validation() async {
        let missing = await TestSupport.toolErrorMessage { _ = try await TestSupport.call(ArithmeticTool(.add), ["a": 1]) }
        #expect(missing == "add: missing required argument 'b'")
        let wrongType = await TestSupport.toolErrorMessage { _ = try await TestSupport.call(ArithmeticTool(.multiply), ["a": "2", "b": 3]) }
        #expect(wrongType == "multiply: argument 'a' must be a finite number")
    }

    @Test("overflow is reported instead of returning infinity")
    func overflow() async {
        let message = await TestSupport.toolErrorMessage {
            _ = try await TestSupport.call(ArithmeticTool(.multiply), ["a": .number(1e308), "b": 10])
        }
        #expect(message?.contains("too large") == true)
    }

    @Test("tool names match the operations")
    func names() {
        #expect(ArithmeticTool.Operation.allCases.map { ArithmeticTool($0).definition.name } == ["add", "subtract", "multiply", "divide"])
    }
}
