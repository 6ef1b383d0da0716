import KeelCore

/// `list_directory(path?)`: the direct children of a directory (default: the workspace root).
public struct ListDirectoryTool: Tool {
    public init() {}

    public var definition: ToolDefinition {
        ToolDefinition(
            name: "list_directory",
            description: "List the files and directories directly inside a directory of the session workspace.",
            parameters: JSONSchema.object(
                ["path": JSONSchema.string("Directory path under /workspace; defaults to /workspace.")]
            )
        )
    }

    public func call(_ arguments: JSONValue, context: ToolContext) async throws -> JSONValue {
        let path = try ToolArguments(arguments, tool: "list_directory").optionalString("path") ?? WorkspacePath.rootString
        let entries = try await context.files.list(path)
        return ["path": .string(path), "entries": .array(entries.map { JSONValue.encoding($0) })]
    }
}
