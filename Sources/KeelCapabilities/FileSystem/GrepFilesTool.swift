import KeelCore

/// `grep_files(pattern, path?)`: regular-expression search over the lines of every file below a
/// path.
///
/// The walk uses only the `SessionFileSystem` protocol (list/read), so it works for any backing
/// store. Results are capped at `maxMatches` and long lines are shortened so one call cannot
/// flood the model's context.
public struct GrepFilesTool: Tool {
    public static let maxMatches = 200
    /// Matched lines longer than this are cut, since minified files can have megabyte lines.
    static let maxLineCharacters = 500

    public init() {}

    public var definition: ToolDefinition {
        ToolDefinition(
            name: "grep_files",
            description: "Search the lines of files in the session workspace with a regular expression. Returns up to \(Self.maxMatches) matches with path, 1-based line number and line text.",
            parameters: JSONSchema.object(
                [
                    "pattern": JSONSchema.string("Regular expression matched against each line."),
                    "path": JSONSchema.string("File or directory to search; defaults to /workspace."),
                ],
                required: ["pattern"]
            )
        )
    }

    public func call(_ arguments: JSONValue, context: ToolContext) async throws -> JSONValue {
        let arguments = try ToolArguments(arguments, tool: "grep_files")
        let pattern = try arguments.string("pattern")
        let root = try arguments.optionalString("path") ?? WorkspacePath.rootString
        let regex: Regex<AnyRegexOutput>
        do {
            regex = try Regex(pattern)
        } catch {
            throw ToolError("grep_files: invalid regular expression '\(pattern)': \(error)")
        }
        guard let rootStat = try await context.files.stat(root) else {
            throw ToolError("no such file or directory: '\(root)'")
        }
        var matches: [JSONValue] = []
        var truncated = false
        var pending = [rootStat]
        search: while let entry = pending.popLast() {
            try Task.checkCancellation()
            if entry.isDirectory {
                // Reversed so that popping from the end visits entries in listing order.
                pending.append(contentsOf: try await context.files.list(entry.path).reversed())
                continue
            }
            let content = try await context.files.read(entry.path)
            // "\r\n" is a single Character in Swift, so it is matched explicitly as a separator.
            let lines = content.split(omittingEmptySubsequences: false) { $0 == "\n" || $0 == "\r\n" }
            for (index, line) in lines.enumerated() {
                let text = line.hasSuffix("\r") ? line.dropLast() : line
                guard (try? regex.firstMatch(in: text)) != nil else { continue }
                guard matches.count < Self.maxMatches else {
                    truncated = true
                    break search
                }
                matches.append([
                    "path": .string(entry.path),
                    "line": JSONValue(index + 1),
                    "text": .string(String(text.prefix(Self.maxLineCharacters))),
                ])
            }
        }
        return ["matches": .array(matches), "truncated": .bool(truncated)]
    }
}
