/// Per-call limits of `grep_files`, so one call's cost is bounded whatever the pattern and the
/// workspace: when one is reached the search stops and returns what it found with
/// `truncated: true` and a `truncated_reason` naming the limit.
public struct GrepBudget: Sendable, Hashable {
    /// File content scanned (UTF-8 bytes, summed over files).
    public var maxBytes: Int
    /// Files and directories visited.
    public var maxEntries: Int
    /// Automaton steps (states visited, summed over all lines): bounds CPU time when a large
    /// pattern meets large files. A release build runs 3–8 × 10⁷ steps a second, so this is a few seconds
    /// of one `BlockingWork` thread at most.
    public var maxSteps: Int

    public init(maxBytes: Int = 32 << 20, maxEntries: Int = 10_000, maxSteps: Int = 100_000_000) {
        self.maxBytes = maxBytes
        self.maxEntries = maxEntries
        self.maxSteps = maxSteps
    }
}
