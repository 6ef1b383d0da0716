import Foundation
import KeelCore

/// `write_todos(todos)`: lets the model keep a visible plan.
///
/// The list is "stateless": the server stores nothing, the model resends the whole list each
/// time, and the tool's job is only to validate it and echo it back (the echo lands in the event
/// stream, which is where UIs render the plan from).
public struct WriteTodosTool: Tool {
    public enum Status: String, CaseIterable, Sendable {
        case pending
        case inProgress = "in_progress"
        case completed
    }

    /// A plan longer than this is a loop, not a plan.
    public static let maxItems = 100

    public init() {}

    public var definition: ToolDefinition {
        ToolDefinition(
            name: "write_todos",
            description: "Replace the current todo list with the given items. Send the complete list every time.",
            parameters: JSONSchema.object(
                [
                    "todos": [
                        "type": "array",
                        "description": "The complete todo list, in order.",
                        "maxItems": JSONValue(Self.maxItems),
                        "items": JSONSchema.object(
                            [
                                "content": JSONSchema.string("What needs to be done."),
                                "status": JSONSchema.enumeration(Status.allCases.map(\.rawValue), "Progress of the item."),
                            ],
                            required: ["content", "status"]
                        ),
                    ]
                ],
                required: ["todos"]
            )
        )
    }

    public func call(_ arguments: JSONValue, context: ToolContext) async throws -> JSONValue {
        let items = try ToolArguments(arguments, tool: "write_todos").array("todos")
        guard items.count <= Self.maxItems else {
            throw ToolError("write_todos: at most \(Self.maxItems) todos are allowed (got \(items.count))")
        }
        var counts = Dictionary(uniqueKeysWithValues: Status.allCases.map { ($0, 0) })
        var validated: [JSONValue] = []
        for (index, item) in items.enumerated() {
            let fields = try ToolArguments(item, tool: "write_todos: todos[\(index)]")
            let content = try fields.string("content")
            guard !content.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else {
                throw ToolError("write_todos: todos[\(index)]: 'content' must not be empty")
            }
            guard let raw = try fields.optionalChoice("status", among: Status.allCases.map(\.rawValue)),
                let status = Status(rawValue: raw)
            else { throw ToolError("write_todos: todos[\(index)]: missing required argument 'status'") }
            counts[status, default: 0] += 1
            validated.append(["content": .string(content), "status": .string(status.rawValue)])
        }
        var countObject: [String: JSONValue] = ["total": JSONValue(validated.count)]
        for status in Status.allCases { countObject[status.rawValue] = JSONValue(counts[status] ?? 0) }
        return ["todos": .array(validated), "counts": .object(countObject)]
    }
}
