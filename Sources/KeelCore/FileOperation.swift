import Foundation

/// A session file-system call in a form that travels between a worker and the control plane,
/// which owns session files.
public enum FileOperation: Codable, Sendable, Hashable {
    case read(path: String)
    case write(path: String, content: String)
    case list(path: String)
    case delete(path: String)
    case stat(path: String)
}

/// The answer to a `FileOperation`; `error` carries a `ToolError` message.
public struct FileOperationResult: Codable, Sendable, Hashable {
    public var content: String?
    public var stat: FileStat?
    public var entries: [FileStat]?
    public var error: String?

    public init(content: String? = nil, stat: FileStat? = nil, entries: [FileStat]? = nil, error: String? = nil) {
        self.content = content
        self.stat = stat
        self.entries = entries
        self.error = error
    }
}

extension SessionFileSystem {
    /// Serves a remote call; tool errors become `error`, anything else is rethrown.
    public func perform(_ operation: FileOperation) async throws -> FileOperationResult {
        do {
            switch operation {
            case .read(let path): return FileOperationResult(content: try await read(path))
            case .write(let path, let content): return FileOperationResult(stat: try await write(path, content: content))
            case .list(let path): return FileOperationResult(entries: try await list(path))
            case .delete(let path):
                try await delete(path)
                return FileOperationResult()
            case .stat(let path): return FileOperationResult(stat: try await stat(path))
            }
        } catch let error as ToolError {
            return FileOperationResult(error: error.message)
        }
    }
}

/// A `SessionFileSystem` whose calls are served elsewhere (by the control plane, for workers).
public struct RemoteSessionFileSystem: SessionFileSystem {
    private let send: @Sendable (FileOperation) async throws -> FileOperationResult

    public init(send: @escaping @Sendable (FileOperation) async throws -> FileOperationResult) {
        self.send = send
    }

    private func call(_ operation: FileOperation) async throws -> FileOperationResult {
        let result = try await send(operation)
        if let error = result.error { throw ToolError(error) }
        return result
    }

    public func read(_ path: String) async throws -> String { try await call(.read(path: path)).content ?? "" }

    public func write(_ path: String, content: String) async throws -> FileStat {
        guard let stat = try await call(.write(path: path, content: content)).stat else {
            throw ToolError("The file system returned no result for \(path)")
        }
        return stat
    }

    public func list(_ path: String) async throws -> [FileStat] { try await call(.list(path: path)).entries ?? [] }
    public func delete(_ path: String) async throws { _ = try await call(.delete(path: path)) }
    public func stat(_ path: String) async throws -> FileStat? { try await call(.stat(path: path)).stat }
}
