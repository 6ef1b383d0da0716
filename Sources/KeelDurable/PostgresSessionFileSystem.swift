import Foundation
import KeelCapabilities
import KeelCore
import KeelStorage
import Logging
import PostgresNIO

/// A session's file tree (`session_file_system`) in PostgreSQL, for durable mode: the files
/// survive restarts and every server instance sees the same ones.
///
/// It behaves exactly like `InMemorySessionFileSystem` — same path resolution (`WorkspacePath`),
/// same implicit directories, same `ToolError` texts, same `FileSystemLimits` — with these
/// storage-specific choices:
///
/// * One row per file in `session_files` (migration 3), keyed by the session and the normalised
///   absolute path (in Unicode NFC, because Swift compares strings by canonical equivalence, so
///   `é` and `e` + U+0301 name the same file in memory too). Deleting the session deletes its files
///   (`ON DELETE CASCADE`). The "C" collation makes the files below a directory one key range
///   (`path >= 'dir/' AND path < 'dir0'`); candidates from that range are re-checked component by
///   component with `WorkspacePath`, so the answers are the in-memory ones.
/// * Writes and deletes run in a transaction that first takes the session's row lock
///   (`FOR NO KEY UPDATE`, which does not conflict with the foreign-key checks of other tables), so
///   concurrent writes — from any instance — cannot exceed the file-count or total-size limits.
/// * `modified_at` has millisecond precision. By default it is the database clock
///   (`clock_timestamp()`), shared by every instance; `clock` replaces it (tests).
/// * The stat of a directory with nothing below it — only the root can be one — reports the
///   session's `created_at` (the in-memory file system reports its own creation time).
/// * A session that does not exist (never created, or deleted) fails every call with
///   `ToolError("no such session: '<id>'")`, which reaches the model like any other tool error,
///   also through the worker protocol.
/// * PostgreSQL `text` cannot hold U+0000, so content containing it is refused with a `ToolError`
///   (the one thing the in-memory file system accepts and this one does not).
/// * Database failures are thrown as `PostgresSessionFileSystemError` with a readable reason.
public struct PostgresSessionFileSystem: SessionFileSystem {
    public let store: PostgresStore
    public let sessionID: String
    public let limits: FileSystemLimits
    private let clock: (@Sendable () -> Date)?
    private let logger: Logger

    public init(
        store: PostgresStore, sessionID: String, limits: FileSystemLimits = FileSystemLimits(),
        clock: (@Sendable () -> Date)? = nil, logger: Logger = Logger(label: "keel.durable.files")
    ) {
        self.store = store
        self.sessionID = sessionID
        self.limits = limits
        self.clock = clock
        self.logger = logger
    }

    // MARK: SessionFileSystem

    public func read(_ path: String) async throws -> String {
        let path = try WorkspacePath(resolving: path)
        return try await storing("read", path) {
            let probe = try await probe(path, content: true, on: nil)
            if let content = probe.content { return content }
            if probe.isDirectory(path) { throw ToolError("'\(path)' is a directory, not a file") }
            throw ToolError("no such file: '\(path)'")
        }
    }

    public func write(_ path: String, content: String) async throws -> FileStat {
        let path = try WorkspacePath(resolving: path)
        let size = content.utf8.count
        guard size <= limits.maxFileBytes else {
            throw ToolError("'\(path)' would be \(size) bytes, over the limit of \(limits.maxFileBytes) bytes per file")
        }
        guard !content.utf8.contains(0) else {
            throw ToolError("cannot write '\(path)': the content contains a NUL character (U+0000), which session files cannot hold")
        }
        let now = clock.map { Self.milliseconds($0()) }
        let limits = self.limits
        return try await storing("write", path) {
            try await store.transaction { connection in
                try await lockSession(on: connection)
                let probe = try await probe(path, content: false, on: connection)
                if probe.isDirectory(path) { throw ToolError("'\(path)' is a directory, not a file") }
                let blockingFiles = try await files(at: path.ancestors, on: connection)
                if let blocking = path.ancestors.first(where: { blockingFiles.contains($0) }) {
                    throw ToolError("cannot create '\(path)': '\(blocking)' is a file, not a directory")
                }
                let (count, totalBytes) = try await usage(on: connection)
                let previousSize = probe.file?.size
                if previousSize == nil, count >= limits.maxFiles {
                    throw ToolError("cannot create '\(path)': the session already holds the maximum of \(limits.maxFiles) files")
                }
                let newTotal = totalBytes - (previousSize ?? 0) + size
                guard newTotal <= limits.maxTotalBytes else {
                    throw ToolError(
                        "cannot write '\(path)': the session's files would total \(newTotal) bytes, over the limit of \(limits.maxTotalBytes) bytes"
                    )
                }
                let key = Self.key(path)
                let rows = try await connection.query(
                    """
                    INSERT INTO session_files (session_id, path, content, size, modified_at)
                    VALUES (\(sessionID), \(key), \(content), \(size),
                            coalesce(\(now)::timestamptz, date_trunc('milliseconds', clock_timestamp())))
                    ON CONFLICT (session_id, path) DO UPDATE
                        SET content = EXCLUDED.content, size = EXCLUDED.size, modified_at = EXCLUDED.modified_at
                    RETURNING modified_at
                    """, logger: logger)
                var modifiedAt: Date?
                for try await value in rows.decode(Date.self) { modifiedAt = Self.milliseconds(value) }
                guard let modifiedAt else { throw PostgresSessionFileSystemError("the write of '\(path)' returned no row") }
                return FileStat(path: path.description, isDirectory: false, size: size, modifiedAt: modifiedAt)
            }
        }
    }

    public func list(_ path: String) async throws -> [FileStat] {
        let path = try WorkspacePath(resolving: path)
        return try await storing("list", path) {
            let probe = try await probe(path, content: false, on: nil)
            if probe.file != nil { throw ToolError("'\(path)' is a file, not a directory") }
            var entries: [WorkspacePath: FileStat] = [:]
            for file in probe.below where path.isAncestor(of: file.path) {
                let child = path.child(toward: file.path)
                if child == file.path {
                    entries[child] = FileStat(
                        path: child.description, isDirectory: false, size: file.size, modifiedAt: file.modifiedAt)
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
        try await storing("delete", path) {
            try await store.transaction { connection in
                try await lockSession(on: connection)
                let deleted = try await connection.query(
                    "DELETE FROM session_files WHERE session_id = \(sessionID) AND path = \(Self.key(path)) RETURNING 1",
                    logger: logger
                ).collect()
                if !deleted.isEmpty { return }
                let probe = try await probe(path, content: false, on: connection)
                if probe.isDirectory(path) {
                    throw ToolError("'\(path)' is a directory; delete the files inside it instead")
                }
                throw ToolError("no such file: '\(path)'")
            }
        }
    }

    public func stat(_ path: String) async throws -> FileStat? {
        let path = try WorkspacePath(resolving: path)
        return try await storing("stat", path) {
            let probe = try await probe(path, content: false, on: nil)
            if let file = probe.file {
                return FileStat(path: path.description, isDirectory: false, size: file.size, modifiedAt: file.modifiedAt)
            }
            guard probe.isDirectory(path) else { return nil }
            let modifiedAt = probe.latestModification(under: path) ?? probe.sessionCreatedAt
            return FileStat(path: path.description, isDirectory: true, size: 0, modifiedAt: modifiedAt)
        }
    }

    // MARK: Queries

    private struct StoredFile {
        var path: WorkspacePath
        var size: Int
        var modifiedAt: Date
    }

    /// What one path looks like: the session (its creation time), the file at the path, and the
    /// files whose stored path lies in the path's key range (candidates for "below it").
    private struct Probe {
        var sessionCreatedAt: Date
        var file: StoredFile?
        var content: String?
        var below: [StoredFile]

        func isDirectory(_ path: WorkspacePath) -> Bool {
            path.isRoot || below.contains { path.isAncestor(of: $0.path) }
        }

        func latestModification(under path: WorkspacePath) -> Date? {
            below.filter { path.isAncestor(of: $0.path) }.map(\.modifiedAt).max()
        }
    }

    /// One statement (one snapshot): on `connection` inside a transaction, else on the pool.
    private func probe(_ path: WorkspacePath, content: Bool, on connection: PostgresConnection?) async throws -> Probe {
        let key = Self.key(path)
        let (lower, upper) = (key + "/", key + "0")  // "0" follows "/" in byte order
        let query: PostgresQuery = """
            SELECT 0, NULL::text, 0, created_at, NULL::text FROM sessions WHERE id = \(sessionID)
            UNION ALL
            SELECT 1, path, size, modified_at, CASE WHEN \(content) THEN content END
            FROM session_files WHERE session_id = \(sessionID) AND path = \(key)
            UNION ALL
            SELECT 2, path, size, modified_at, NULL::text
            FROM session_files WHERE session_id = \(sessionID) AND path >= \(lower) AND path < \(upper)
            """
        if let connection { return try await probe(rows: try await connection.query(query, logger: logger)) }
        try await store.waitForSchema()
        return try await probe(rows: try await store.client.query(query, logger: logger))
    }

    private func probe(rows: PostgresRowSequence) async throws -> Probe {
        var createdAt: Date?
        var file: StoredFile?
        var fileContent: String?
        var below: [StoredFile] = []
        for try await (kind, path, size, date, content) in rows.decode((Int, String?, Int, Date, String?).self) {
            let date = Self.milliseconds(date)
            switch kind {
            case 0: createdAt = date
            case 1:
                file = StoredFile(path: try Self.storedPath(path), size: size, modifiedAt: date)
                fileContent = content
            default: below.append(StoredFile(path: try Self.storedPath(path), size: size, modifiedAt: date))
            }
        }
        guard let createdAt else { throw Self.noSuchSession(sessionID) }
        return Probe(sessionCreatedAt: createdAt, file: file, content: fileContent, below: below)
    }

    /// Takes the session's row lock for the rest of the transaction: writes and deletes of one
    /// session are serialised across instances, so the limits hold.
    private func lockSession(on connection: PostgresConnection) async throws {
        let rows = try await connection.query(
            "SELECT 1 FROM sessions WHERE id = \(sessionID) FOR NO KEY UPDATE", logger: logger
        ).collect()
        if rows.isEmpty { throw Self.noSuchSession(sessionID) }
    }

    /// Which of `paths` are files.
    private func files(at paths: [WorkspacePath], on connection: PostgresConnection) async throws -> Set<WorkspacePath> {
        guard !paths.isEmpty else { return [] }
        let keys = paths.map(Self.key)
        let rows = try await connection.query(
            "SELECT path FROM session_files WHERE session_id = \(sessionID) AND path = ANY(\(keys))", logger: logger)
        var found = Set<WorkspacePath>()
        for try await path in rows.decode(String.self) { found.insert(try Self.storedPath(path)) }
        return found
    }

    /// The session's file count and total size.
    private func usage(on connection: PostgresConnection) async throws -> (files: Int, bytes: Int) {
        let rows = try await connection.query(
            "SELECT count(*), coalesce(sum(size), 0)::bigint FROM session_files WHERE session_id = \(sessionID)",
            logger: logger)
        for try await (count, bytes) in rows.decode((Int, Int).self) { return (count, bytes) }
        return (0, 0)
    }

    // MARK: Helpers

    /// Runs one operation; `ToolError`s and cancellation pass through, anything else (the
    /// database) becomes a `PostgresSessionFileSystemError` naming the operation.
    private func storing<Result: Sendable>(
        _ operation: String, _ path: WorkspacePath, _ body: () async throws -> Result
    ) async throws -> Result {
        do {
            return try await body()
        } catch let error as ToolError {
            throw error
        } catch let error as CancellationError {
            throw error
        } catch let error as PostgresSessionFileSystemError {
            throw error
        } catch {
            throw PostgresSessionFileSystemError(
                "cannot \(operation) '\(path)' of session \(sessionID): \(PostgresStore.describe(error))")
        }
    }

    static func noSuchSession(_ sessionID: String) -> ToolError {
        ToolError("no such session: '\(sessionID)'")
    }

    /// The stored form of a path: its text in Unicode NFC.
    static func key(_ path: WorkspacePath) -> String {
        path.description.precomposedStringWithCanonicalMapping
    }

    static func storedPath(_ stored: String?) throws -> WorkspacePath {
        guard let stored, let path = try? WorkspacePath(resolving: stored) else {
            throw PostgresStoreError.corruptRow("session file path \(stored ?? "NULL") is not a workspace path")
        }
        return path
    }

    /// `date` at millisecond precision, exactly as the rest of the store returns timestamps.
    static func milliseconds(_ date: Date) -> Date {
        KeelJSON.parseTimestamp(KeelJSON.timestamp(date)) ?? date
    }
}

/// A session file operation failed in the database (not because of what the model asked).
public struct PostgresSessionFileSystemError: Error, Sendable, CustomStringConvertible {
    public let description: String

    public init(_ description: String) {
        self.description = "session file system: " + description
    }
}
