import KeelCore

/// `read_file(path)`: returns a file's full text from the session workspace.
public struct ReadFileTool: Tool {
    public init() {}

    public var definition: ToolDefinition {
        ToolDefinition(
            name: "read_file",
            description: "Read the full text of a file in the session workspace (/workspace).",
            parameters: JSONSchema.object(
                ["path": JSONSchema.string("File path, absolute under /workspace or relative to it.")],
                required: ["path"]
            )
        )
    }

    public func call(_ arguments: JSONValue, context: ToolContext) async throws -> JSONValue {
        let path = try ToolArguments(arguments, tool: "read_file").string("path")
        let content = try await context.files.read(path)
        return ["path": .string(path), "content": .string(content)]
    }
}
