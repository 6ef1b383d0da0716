import KeelCore

/// `stat_file(path)`: whether a path exists, and its kind, size and modification time.
///
/// A missing path is a normal answer (`exists: false`), not an error, because models use this
/// tool precisely to check for existence before writing.
public struct StatFileTool: Tool {
    public init() {}

    public var definition: ToolDefinition {
        ToolDefinition(
            name: "stat_file",
            description: "Get whether a path exists in the session workspace, whether it is a directory, its size in bytes and its modification time.",
            parameters: JSONSchema.object(
                ["path": JSONSchema.string("Path, absolute under /workspace or relative to it.")],
                required: ["path"]
            )
        )
    }

    public func call(_ arguments: JSONValue, context: ToolContext) async throws -> JSONValue {
        let path = try ToolArguments(arguments, tool: "stat_file").string("path")
        guard let stat = try await context.files.stat(path), case .object(var object) = JSONValue.encoding(stat) else {
            return ["path": .string(path), "exists": false]
        }
        object["exists"] = true
        return .object(object)
    }
}
