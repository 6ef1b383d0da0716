import Foundation
import KeelCore
import Synchronization

/// A session's private file tree, held in memory and rooted at `/workspace`.
///
/// Only files are stored; a directory exists exactly when some file lies below it (and the root
/// always exists). That keeps the model simple — writing `/workspace/a/b.txt` needs no `mkdir`,
/// and deleting the last file of a directory leaves no empty husk behind. State sits behind a
/// `Mutex` rather than in an actor because every operation is short and synchronous, so tools
/// never queue behind an actor hop.
public final class InMemorySessionFileSystem: SessionFileSystem {
    public let limits: FileSystemLimits
    private let now: @Sendable () -> Date
    private let createdAt: Date
    private let state = Mutex(State())

    private struct StoredFile {
        var content: String
        var size: Int
        var modifiedAt: Date
    }

    private struct State {
        var files: [WorkspacePath: StoredFile] = [:]
        var totalBytes = 0

        func isDirectory(_ path: WorkspacePath) -> Bool {
            path.isRoot || files.keys.contains { path.isAncestor(of: $0) }
        }

        /// Latest modification below a directory, so a directory's `modified_at` moves when
        /// anything inside it changes.
        func latestModification(under path: WorkspacePath) -> Date? {
            files.filter { path.isAncestor(of: $0.key) }.map(\.value.modifiedAt).max()
        }
    }

    /// - Parameter now: the clock used for `modified_at`; injectable so tests are deterministic.
    public init(limits: FileSystemLimits = FileSystemLimits(), now: @escaping @Sendable () -> Date = { Date() }) {
        self.limits = limits
        self.now = now
        self.createdAt = now()
    }

    public func read(_ path: String) async throws -> String {
        let path = try WorkspacePath(resolving: path)
        return try state.withLock { state in
            if let file = state.files[path] { return file.content }
            if state.isDirectory(path) { throw ToolError("'\(path)' is a directory, not a file") }
            throw ToolError("no such file: '\(path)'")
        }
    }

    public func write(_ path: String, content: String) async throws -> FileStat {
        let path = try WorkspacePath(resolving: path)
        let size = content.utf8.count
        guard size <= limits.maxFileBytes else {
            throw ToolError("'\(path)' would be \(size) bytes, over the limit of \(limits.maxFileBytes) bytes per file")
        }
        let modifiedAt = now()
        let limits = self.limits
        return try state.withLock { state in
            if state.isDirectory(path) { throw ToolError("'\(path)' is a directory, not a file") }
            if let blocking = path.ancestors.first(where: { state.files[$0] != nil }) {
                throw ToolError("cannot create '\(path)': '\(blocking)' is a file, not a directory")
            }
            let previousSize = state.files[path]?.size
            if previousSize == nil, state.files.count >= limits.maxFiles {
                throw ToolError("cannot create '\(path)': the session already holds the maximum of \(limits.maxFiles) files")
            }
            let newTotal = state.totalBytes - (previousSize ?? 0) + size
            guard newTotal <= limits.maxTotalBytes else {
                throw ToolError(
                    "cannot write '\(path)': the session's files would total \(newTotal) bytes, over the limit of \(limits.maxTotalBytes) bytes"
                )
            }
            state.files[path] = StoredFile(content: content, size: size, modifiedAt: modifiedAt)
            state.totalBytes = newTotal
            return FileStat(path: path.description, isDirectory: false, size: size, modifiedAt: modifiedAt)
        }
    }

    public func list(_ path: String) async throws -> [FileStat] {
        let path = try WorkspacePath(resolving: path)
        return try state.withLock { state in
            if state.files[path] != nil { throw ToolError("'\(path)' is a file, not a directory") }
            var entries: [WorkspacePath: FileStat] = [:]
            for (filePath, file) in state.files where path.isAncestor(of: filePath) {
                let child = path.child(toward: filePath)
                if child == filePath {
                    entries[child] = FileStat(path: child.description, isDirectory: false, size: file.size, modifiedAt: file.modifiedAt)
                } else {
                    let latest = max(entries[child]?.modifiedAt ?? file.modifiedAt, file.modifiedAt)
                    entries[child] = FileStat(path: child.description, isDirectory: true, size: 0, modifiedAt: latest)
                }
            }
            if entries.isEmpty, !path.isRoot { throw ToolError("no such directory: '\(path)'") }
            return entries.sorted { $0.key < $1.key }.map(\.value)
        }
    }

    public func delete(_ path: String) async throws {
        let path = try WorkspacePath(resolving: path)
        try state.withLock { state in
            if let removed = state.files.removeValue(forKey: path) {
                state.totalBytes -= removed.size
                return
            }
            if state.isDirectory(path) {
                throw ToolError("'\(path)' is a directory; delete the files inside it instead")
            }
            throw ToolError("no such file: '\(path)'")
        }
    }

    public func stat(_ path: String) async throws -> FileStat? {
        let path = try WorkspacePath(resolving: path)
        let createdAt = self.createdAt
        return state.withLock { state in
            if let file = state.files[path] {
                return FileStat(path: path.description, isDirectory: false, size: file.size, modifiedAt: file.modifiedAt)
            }
            guard state.isDirectory(path) else { return nil }
            let modifiedAt = state.latestModification(under: path) ?? createdAt
            return FileStat(path: path.description, isDirectory: true, size: 0, modifiedAt: modifiedAt)
        }
    }
}
