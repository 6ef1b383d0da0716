import KeelCore

/// `write_file(path, content)`: creates or replaces a file; parent directories are implicit.
public struct WriteFileTool: Tool {
    public init() {}

    public var definition: ToolDefinition {
        ToolDefinition(
            name: "write_file",
            description: "Create or overwrite a text file in the session workspace (/workspace). Parent directories are created implicitly.",
            parameters: JSONSchema.object(
                [
                    "path": JSONSchema.string("File path, absolute under /workspace or relative to it."),
                    "content": JSONSchema.string("The complete new content of the file."),
                ],
                required: ["path", "content"]
            )
        )
    }

    public func call(_ arguments: JSONValue, context: ToolContext) async throws -> JSONValue {
        let arguments = try ToolArguments(arguments, tool: "write_file")
        let path = try arguments.string("path")
        let content = try arguments.string("content")
        let stat = try await context.files.write(path, content: content)
        return .encoding(stat)
    }
}
