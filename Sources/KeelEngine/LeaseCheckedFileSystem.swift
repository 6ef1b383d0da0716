import KeelCore

/// A session's files as a step's executor may use them: each operation first checks that the
/// step's lease still holds (`check` throws `StepChannelError.leaseLost` otherwise), so an
/// executor whose step was reclaimed, cancelled or handed back cannot change the files the new
/// holder works on. The check and the operation are two statements: an operation that passed its
/// check just before the lease was lost may still land, but nothing started after that does.
package struct LeaseCheckedFileSystem: SessionFileSystem {
    let files: any SessionFileSystem
    let check: @Sendable () async throws -> Void

    package init(files: any SessionFileSystem, check: @escaping @Sendable () async throws -> Void) {
        self.files = files
        self.check = check
    }

    package func read(_ path: String) async throws -> String {
        try await check()
        return try await files.read(path)
    }

    package func write(_ path: String, content: String) async throws -> FileStat {
        try await check()
        return try await files.write(path, content: content)
    }

    package func list(_ path: String) async throws -> [FileStat] {
        try await check()
        return try await files.list(path)
    }

    package func delete(_ path: String) async throws {
        try await check()
        try await files.delete(path)
    }

    package func stat(_ path: String) async throws -> FileStat? {
        try await check()
        return try await files.stat(path)
    }
}
