import KeelCore

/// A normalised absolute path inside the session workspace, e.g. `/workspace/notes/todo.md`.
///
/// All session file system paths go through this type so that there is exactly one place that
/// decides what a model-supplied path means: relative paths resolve against `/workspace`, `.` and
/// empty components vanish, `..` pops a component, and nothing can name a location outside the
/// root (which matters once the same paths are mapped onto a real disk or a sandbox).
public struct WorkspacePath: Hashable, Sendable, Comparable, CustomStringConvertible {
    public static let rootString = "/workspace"
    public static let root = WorkspacePath(components: [])
    /// Longer paths are almost certainly a model looping; refusing them keeps keys bounded.
    public static let maxLength = 1024

    /// Components below `/workspace`; empty for the root itself.
    public let components: [String]

    private init(components: [String]) {
        self.components = components
    }

    public init(resolving raw: String) throws {
        guard raw.utf8.count <= Self.maxLength else {
            throw ToolError("path is longer than \(Self.maxLength) bytes")
        }
        guard !raw.contains("\0") else { throw ToolError("path must not contain NUL characters") }
        var relative = Substring(raw)
        if raw.hasPrefix("/") {
            guard raw == Self.rootString || raw.hasPrefix(Self.rootString + "/") else {
                throw ToolError("path '\(raw)' is outside \(Self.rootString); use a path under \(Self.rootString) or a relative path")
            }
            relative = raw.dropFirst(Self.rootString.count)
        }
        var resolved: [String] = []
        for component in relative.split(separator: "/", omittingEmptySubsequences: true) {
            switch component {
            case ".": continue
            case "..":
                guard !resolved.isEmpty else {
                    throw ToolError("path '\(raw)' escapes \(Self.rootString)")
                }
                resolved.removeLast()
            default: resolved.append(String(component))
            }
        }
        self.components = resolved
    }

    public var isRoot: Bool { components.isEmpty }

    public var description: String {
        isRoot ? Self.rootString : Self.rootString + "/" + components.joined(separator: "/")
    }

    /// The proper ancestors from the root's child down to the parent (the root is excluded
    /// because it is always a directory).
    public var ancestors: [WorkspacePath] {
        guard components.count > 1 else { return [] }
        return (1..<components.count).map { WorkspacePath(components: Array(components.prefix($0))) }
    }

    /// True when `other` lies strictly below `self`.
    public func isAncestor(of other: WorkspacePath) -> Bool {
        other.components.count > components.count && other.components.starts(with: components)
    }

    /// The direct child of `self` on the way to `descendant` (which must lie below `self`).
    public func child(toward descendant: WorkspacePath) -> WorkspacePath {
        WorkspacePath(components: Array(descendant.components.prefix(components.count + 1)))
    }

    public static func < (lhs: WorkspacePath, rhs: WorkspacePath) -> Bool {
        lhs.components.lexicographicallyPrecedes(rhs.components)
    }
}
