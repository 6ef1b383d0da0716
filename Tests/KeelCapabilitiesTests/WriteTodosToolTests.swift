import KeelCore
import Testing
@testable import KeelCapabilities

@Suite("write_todos")
struct WriteTodosToolTests {
    @Test("echoes the validated list with counts per status")
    func echo() async throws {
        let todos: JSONValue = [
            ["content": "plan", "status": "completed"],
            ["content": "build", "status": "in_progress"],
            ["content": "test", "status": "pending"],
            ["content": "ship", "status": "pending"],
        ]
        let result = try await TestSupport.call(WriteTodosTool(), ["todos": todos])
        #expect(result["todos"] == todos)
        #expect(result["counts"] == ["pending": 2, "in_progress": 1, "completed": 1, "total": 4])
    }

    @Test("an empty list is valid")
    func empty() async throws {
        let result = try await TestSupport.call(WriteTodosTool(), ["todos": []])
        #expect(result["counts"]?["total"] == 0)
    }

    @Test("invalid items are rejected with their index", arguments: [
        (JSONValue.array([["content": "x", "status": "done"]]), "must be one of pending, in_progress, completed"),
        (JSONValue.array([["status": "pending"]]), "todos[0]: missing required argument 'content'"),
        (JSONValue.array([["content": "ok", "status": "pending"], ["content": "  ", "status": "pending"]]), "todos[1]: 'content' must not be empty"),
        (JSONValue.array([["content": "x"]]), "missing required argument 'status'"),
        (JSONValue.array(["just a string"]), "arguments must be a JSON object"),
        (JSONValue.string("not a list"), "argument 'todos' must be an array"),
    ])
    func invalid(todos: JSONValue, expected: String) async {
        let message = await TestSupport.toolErrorMessage { _ = try await TestSupport.call(WriteTodosTool(), ["todos": todos]) }
        #expect(message?.contains(expected) == true, "got \(message ?? "nil")")
    }

    @Test("todos is required")
    func missing() async {
        let message = await TestSupport.toolErrorMessage { _ = try await TestSupport.call(WriteTodosTool(), [:]) }
        #expect(message == "write_todos: missing required argument 'todos'")
    }
}
