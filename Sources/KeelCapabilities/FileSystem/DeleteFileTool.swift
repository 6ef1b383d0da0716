import KeelCore

/// `delete_file(path)`: removes one file (directories disappear with their last file).
public struct DeleteFileTool: Tool {
    public init() {}

    public var definition: ToolDefinition {
        ToolDefinition(
            name: "delete_file",
            description: "Delete a file from the session workspace. Directories cannot be deleted directly; they vanish with their last file.",
            parameters: JSONSchema.object(
                ["path": JSONSchema.string("File path, absolute under /workspace or relative to it.")],
                required: ["path"]
            )
        )
    }

    public func call(_ arguments: JSONValue, context: ToolContext) async throws -> JSONValue {
        let path = try ToolArguments(arguments, tool: "delete_file").string("path")
        try await context.files.delete(path)
        return ["deleted": .string(path)]
    }
}
