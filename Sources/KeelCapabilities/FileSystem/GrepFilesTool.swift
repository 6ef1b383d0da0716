import KeelCore

/// `grep_files(pattern, path?)`: regular-expression search over the lines of every file below a
/// path.
///
/// The pattern is attacker-controlled (it comes from the model), so it is compiled by
/// `LinearRegex` — matching in linear time, no backtracking — and the matching runs on
/// `BlockingWork`'s threads, never on the cooperative pool, stopping at once when the call is
/// cancelled or times out. Each call is bounded by a `GrepBudget` (bytes scanned, entries visited,
/// matcher steps) and returns at most `maxMatches` matches with long lines shortened, so one call
/// can neither hold a core nor flood the model's context.
///
/// The walk uses only the `SessionFileSystem` protocol (list/read), so it works for any backing
/// store.
public struct GrepFilesTool: Tool {
    public static let maxMatches = 200
    /// Matched lines longer than this are cut, since minified files can have megabyte lines.
    static let maxLineCharacters = 500

    public let budget: GrepBudget

    public init(budget: GrepBudget = GrepBudget()) {
        self.budget = budget
    }

    public var definition: ToolDefinition {
        ToolDefinition(
            name: "grep_files",
            description: """
                Search the lines of files in the session workspace with a regular expression. Returns up to \
                \(Self.maxMatches) matches with path, 1-based line number and line text; `truncated` (with \
                `truncated_reason`) says the search stopped early. Supported syntax: literals, `.`, classes \
                `[a-z]` `[^...]`, `\\d \\w \\s \\D \\W \\S \\b`, anchors `^ $` (per line), groups `( )` `(?: )`, \
                alternation `|`, quantifiers `* + ? {m,n}` (counts up to \(LinearRegex.maxRepetition)), and a \
                leading `(?i)` for case-insensitive search. Backreferences and lookaround are not supported.
                """,
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
        let regex: LinearRegex
        do {
            regex = try LinearRegex(pattern)
        } catch {
            throw ToolError("grep_files: invalid regular expression '\(pattern.prefix(200))': \(error.message)")
        }
        guard let rootStat = try await context.files.stat(root) else {
            throw ToolError("no such file or directory: '\(root)'")
        }
        var matches: [JSONValue] = []
        var stop: StopReason?
        var bytesScanned = 0
        var entriesVisited = 0
        var stepsUsed = 0
        var pending = [rootStat]
        search: while let entry = pending.popLast() {
            try Task.checkCancellation()
            guard entriesVisited < budget.maxEntries else {
                stop = .entries
                break
            }
            entriesVisited += 1
            if entry.isDirectory {
                // Reversed so that popping from the end visits entries in listing order.
                pending.append(contentsOf: try await context.files.list(entry.path).reversed())
                continue
            }
            guard bytesScanned + entry.size <= budget.maxBytes else {
                stop = .bytes
                break
            }
            let content = try await context.files.read(entry.path)
            bytesScanned += content.utf8.count
            let (maxHits, stepBudget) = (Self.maxMatches - matches.count, budget.maxSteps - stepsUsed)
            let scan = try await BlockingWork.run { flag in
                try GrepFileScan.scan(
                    content, regex: regex, maxHits: maxHits, stepBudget: stepBudget,
                    maxLineCharacters: Self.maxLineCharacters, flag: flag)
            }
            stepsUsed += scan.stepsUsed
            for hit in scan.hits {
                matches.append(["path": .string(entry.path), "line": JSONValue(hit.line), "text": .string(hit.text)])
            }
            if scan.reachedHitLimit {
                stop = .matches
            } else if scan.exhaustedSteps {
                stop = .steps
            }
            if stop != nil { break search }
        }
        var result: [String: JSONValue] = ["matches": .array(matches), "truncated": .bool(stop != nil)]
        if let stop { result["truncated_reason"] = .string(stop.explanation(budget)) }
        return .object(result)
    }

    /// Why a search stopped before visiting everything.
    enum StopReason {
        case matches, bytes, entries, steps

        func explanation(_ budget: GrepBudget) -> String {
            switch self {
            case .matches: "more than \(GrepFilesTool.maxMatches) matching lines; only the first \(GrepFilesTool.maxMatches) are shown"
            case .bytes: "stopped at the per-call limit of \(budget.maxBytes) bytes scanned; search a narrower path"
            case .entries: "stopped at the per-call limit of \(budget.maxEntries) files and directories visited; search a narrower path"
            case .steps: "stopped at the per-call limit of \(budget.maxSteps) matching steps; use a simpler pattern or a narrower path"
            }
        }
    }
}
