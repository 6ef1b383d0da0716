import Foundation
import KeelCapabilities
import KeelCore
import KeelDurable
import KeelStorage
import PostgresNIO
import Synchronization
import Testing

/// One behaviour suite run against both session file systems — `InMemorySessionFileSystem`
/// (DEV_MODE) and `PostgresSessionFileSystem` (durable mode) — with the same assertions and the
/// same error texts, plus what only the PostgreSQL one has: a differential run against the
/// in-memory one, limits under concurrent writers on two instances, missing and deleted sessions,
/// and files surviving a server restart.
@Suite("Session file systems: in memory and PostgreSQL", .timeLimit(.minutes(2)))
struct PostgresSessionFileSystemTests {
    enum Backend: String, CaseIterable, Sendable, CustomTestStringConvertible {
        case memory, postgres
        var testDescription: String { rawValue }
    }

    static let base = Date(timeIntervalSince1970: 1_700_000_000)

    /// Makes fresh, empty file systems: in memory, or each on a new session of one PostgreSQL database.
    struct Factory: Sendable {
        let make: @Sendable (FileSystemLimits, TestClock?) async throws -> any SessionFileSystem

        func callAsFunction(_ limits: FileSystemLimits = FileSystemLimits(), clock: TestClock? = nil) async throws
            -> any SessionFileSystem
        {
            try await make(limits, clock)
        }
    }

    static func with(_ backend: Backend, _ body: (Factory) async throws -> Void) async throws {
        switch backend {
        case .memory:
            try await body(
                Factory { limits, clock in
                    if let clock { InMemorySessionFileSystem(limits: limits, now: clock.now) } else {
                        InMemorySessionFileSystem(limits: limits)
                    }
                })
        case .postgres:
            try await withStore { store in
                try await body(Factory { limits, clock in try await makePostgres(store, limits: limits, clock: clock) })
            }
        }
    }

    static func withStore(_ body: (PostgresStore) async throws -> Void) async throws {
        try await PostgresPersistenceTests.withDatabase { url in
            try await PostgresStore(url: url, maxConnections: 4, migrations: [.durable]).withRunning { store in
                try await body(store)
            }
        }
    }

    /// A new session (the foreign key requires one), created at the clock's time.
    static func makePostgres(_ store: PostgresStore, limits: FileSystemLimits = FileSystemLimits(), clock: TestClock? = nil)
        async throws -> PostgresSessionFileSystem
    {
        let session = Session(now: clock?.now() ?? Date())
        try await store.insertSession(session)
        return PostgresSessionFileSystem(store: store, sessionID: session.id, limits: limits, clock: clock.map { $0.now })
    }

    // MARK: Behaviour (both backends)

    @Test("write, read back (relative and absolute paths), overwrite", arguments: Backend.allCases)
    func writeReadOverwrite(_ backend: Backend) async throws {
        try await Self.with(backend) { make in
            let clock = TestClock(Self.base)
            let files = try await make(clock: clock)
            clock.advance(1)
            let stat = try await files.write("notes/a.txt", content: "héllo")
            #expect(stat == FileStat(path: "/workspace/notes/a.txt", isDirectory: false, size: 6, modifiedAt: clock.now()))
            #expect(try await files.read("/workspace/notes/a.txt") == "héllo")
            #expect(try await files.read("./notes/../notes/a.txt") == "héllo")
            #expect(try await files.stat("notes/a.txt") == stat)

            clock.advance(1)
            let replaced = try await files.write("/workspace/notes/a.txt", content: "new text")
            #expect(replaced == FileStat(path: "/workspace/notes/a.txt", isDirectory: false, size: 8, modifiedAt: clock.now()))
            #expect(try await files.read("notes/a.txt") == "new text")
            #expect(try await files.list("notes") == [replaced])
            #expect(try await files.stat("notes/a.txt") == replaced)

            _ = try await files.write("empty.txt", content: "")
            #expect(try await files.read("empty.txt") == "")
        }
    }

    @Test("directories are implicit; a directory's modified_at is the latest below it", arguments: Backend.allCases)
    func implicitDirectories(_ backend: Backend) async throws {
        try await Self.with(backend) { make in
            let clock = TestClock(Self.base)
            let files = try await make(clock: clock)
            #expect(try await files.stat("/workspace") == FileStat(path: "/workspace", isDirectory: true, size: 0, modifiedAt: Self.base))
            #expect(try await files.stat("") == FileStat(path: "/workspace", isDirectory: true, size: 0, modifiedAt: Self.base))

            clock.advance(10)
            _ = try await files.write("/workspace/b.txt", content: "b")
            clock.advance(10)
            let deep = try await files.write("/workspace/dir/sub/y.txt", content: "y")
            clock.advance(10)
            let shallow = try await files.write("/workspace/dir/x.txt", content: "x")

            #expect(try await files.stat("dir") == FileStat(path: "/workspace/dir", isDirectory: true, size: 0, modifiedAt: shallow.modifiedAt))
            #expect(try await files.stat("dir/sub") == FileStat(path: "/workspace/dir/sub", isDirectory: true, size: 0, modifiedAt: deep.modifiedAt))
            #expect(try await files.stat("/workspace")?.modifiedAt == shallow.modifiedAt)
            #expect(try await files.read("dir/sub/y.txt") == "y", "no mkdir needed")

            // Deleting the last file below a directory removes the directory.
            try await files.delete("dir/sub/y.txt")
            #expect(try await files.stat("dir/sub") == nil)
            #expect(try await files.stat("dir")?.isDirectory == true)
            try await files.delete("dir/x.txt")
            #expect(try await files.stat("dir") == nil)
            #expect(try await files.list("").map(\.path) == ["/workspace/b.txt"])
        }
    }

    @Test("listing: direct children only, sorted by path components, directories with their latest change", arguments: Backend.allCases)
    func listing(_ backend: Backend) async throws {
        try await Self.with(backend) { make in
            let clock = TestClock(Self.base)
            let files = try await make(clock: clock)
            #expect(try await files.list("").isEmpty, "an empty workspace lists nothing")
            #expect(try await files.list("/workspace").isEmpty)

            var written: [String: FileStat] = [:]
            for path in ["b.txt", "a-b/x", "a/y", "a/z/deeper.txt", "A.txt", "é.txt", "z/1/2/3.txt"] {
                clock.advance(1)
                written[path] = try await files.write(path, content: path)
            }
            let root = try await files.list("/workspace")
            // Component order ("a" < "a-b"), not plain string order ("/workspace/a-b" < "/workspace/a/…").
            #expect(root.map(\.path) == [
                "/workspace/A.txt", "/workspace/a", "/workspace/a-b", "/workspace/b.txt", "/workspace/z", "/workspace/é.txt",
            ])
            #expect(root.map(\.isDirectory) == [false, true, true, false, true, false])
            #expect(root.map(\.size) == [5, 0, 0, 5, 0, 6])
            let a = try #require(root.first { $0.path == "/workspace/a" })
            #expect(a.modifiedAt == written["a/z/deeper.txt"]?.modifiedAt, "the latest change below a")
            #expect(root.first { $0.path == "/workspace/A.txt" } == written["A.txt"])

            #expect(try await files.list("a") == [
                written["a/y"]!,
                FileStat(path: "/workspace/a/z", isDirectory: true, size: 0, modifiedAt: written["a/z/deeper.txt"]!.modifiedAt),
            ])
            #expect(try await files.list("z/1/2").map(\.path) == ["/workspace/z/1/2/3.txt"])

            #expect(await Self.toolError { _ = try await files.list("b.txt") } == "'/workspace/b.txt' is a file, not a directory")
            #expect(await Self.toolError { _ = try await files.list("nowhere") } == "no such directory: '/workspace/nowhere'")
            #expect(await Self.toolError { _ = try await files.list("b") } == "no such directory: '/workspace/b'", "a prefix of a name is not a directory")
        }
    }

    @Test("delete: files only; directories and missing paths are refused", arguments: Backend.allCases)
    func delete(_ backend: Backend) async throws {
        try await Self.with(backend) { make in
            let files = try await make()
            _ = try await files.write("dir/only.txt", content: "x")
            #expect(await Self.toolError { try await files.delete("dir") } == "'/workspace/dir' is a directory; delete the files inside it instead")
            #expect(await Self.toolError { try await files.delete("/workspace") } == "'/workspace' is a directory; delete the files inside it instead")
            try await files.delete("/workspace/dir/only.txt")
            #expect(try await files.stat("dir") == nil)
            #expect(try await files.stat("dir/only.txt") == nil)
            #expect(await Self.toolError { try await files.delete("dir/only.txt") } == "no such file: '/workspace/dir/only.txt'")
            #expect(await Self.toolError { try await files.delete("/workspace") } == "'/workspace' is a directory; delete the files inside it instead")
            #expect(await Self.toolError { _ = try await files.read("dir/only.txt") } == "no such file: '/workspace/dir/only.txt'")
        }
    }

    @Test("a file is not a directory and a directory is not a file", arguments: Backend.allCases)
    func fileDirectoryConflicts(_ backend: Backend) async throws {
        try await Self.with(backend) { make in
            let files = try await make()
            _ = try await files.write("a.txt", content: "x")
            #expect(await Self.toolError { _ = try await files.write("a.txt/b.txt", content: "y") }
                == "cannot create '/workspace/a.txt/b.txt': '/workspace/a.txt' is a file, not a directory")
            #expect(await Self.toolError { _ = try await files.write("a.txt/deeper/b.txt", content: "y") }
                == "cannot create '/workspace/a.txt/deeper/b.txt': '/workspace/a.txt' is a file, not a directory")
            _ = try await files.write("d/e.txt", content: "y")
            #expect(await Self.toolError { _ = try await files.write("d", content: "z") } == "'/workspace/d' is a directory, not a file")
            #expect(await Self.toolError { _ = try await files.write("/workspace", content: "z") } == "'/workspace' is a directory, not a file")
            #expect(await Self.toolError { _ = try await files.read("d") } == "'/workspace/d' is a directory, not a file")
            #expect(await Self.toolError { _ = try await files.read("") } == "'/workspace' is a directory, not a file")
            #expect(await Self.toolError { _ = try await files.read("missing") } == "no such file: '/workspace/missing'")
            #expect(try await files.read("a.txt") == "x", "refused writes change nothing")
            #expect(try await files.list("").map(\.path) == ["/workspace/a.txt", "/workspace/d"])
        }
    }

    @Test("per-file size limit, in UTF-8 bytes", arguments: Backend.allCases)
    func fileSizeLimit(_ backend: Backend) async throws {
        try await Self.with(backend) { make in
            let files = try await make(FileSystemLimits(maxFileBytes: 10))
            _ = try await files.write("ok.txt", content: String(repeating: "a", count: 10))
            #expect(await Self.toolError { _ = try await files.write("big.txt", content: String(repeating: "a", count: 11)) }
                == "'/workspace/big.txt' would be 11 bytes, over the limit of 10 bytes per file")
            #expect(await Self.toolError { _ = try await files.write("big.txt", content: String(repeating: "é", count: 6)) }
                == "'/workspace/big.txt' would be 12 bytes, over the limit of 10 bytes per file")
            #expect(try await files.stat("big.txt") == nil)
        }
    }

    @Test("file count limit: new files only, freed by deletes", arguments: Backend.allCases)
    func fileCountLimit(_ backend: Backend) async throws {
        try await Self.with(backend) { make in
            let files = try await make(FileSystemLimits(maxFiles: 2))
            _ = try await files.write("1", content: "")
            _ = try await files.write("d/2", content: "")
            _ = try await files.write("d/2", content: "again")
            #expect(await Self.toolError { _ = try await files.write("3", content: "") }
                == "cannot create '/workspace/3': the session already holds the maximum of 2 files")
            try await files.delete("1")
            _ = try await files.write("3", content: "")
            #expect(try await files.list("").map(\.path) == ["/workspace/3", "/workspace/d"])
        }
    }

    @Test("total size limit: replacements count their new size only", arguments: Backend.allCases)
    func totalSizeLimit(_ backend: Backend) async throws {
        try await Self.with(backend) { make in
            let files = try await make(FileSystemLimits(maxFileBytes: 100, maxTotalBytes: 20))
            _ = try await files.write("a.txt", content: String(repeating: "a", count: 15))
            #expect(await Self.toolError { _ = try await files.write("b.txt", content: "123456") }
                == "cannot write '/workspace/b.txt': the session's files would total 21 bytes, over the limit of 20 bytes")
            _ = try await files.write("a.txt", content: String(repeating: "a", count: 20))
            #expect(await Self.toolError { _ = try await files.write("a.txt", content: String(repeating: "a", count: 21)) }
                == "cannot write '/workspace/a.txt': the session's files would total 21 bytes, over the limit of 20 bytes")
            try await files.delete("a.txt")
            _ = try await files.write("b.txt", content: String(repeating: "b", count: 20))
            #expect(try await files.stat("b.txt")?.size == 20)
        }
    }

    @Test("concurrent writers cannot exceed the limits", arguments: Backend.allCases)
    func concurrentLimits(_ backend: Backend) async throws {
        try await Self.with(backend) { make in
            let counted = try await make(FileSystemLimits(maxFiles: 5))
            #expect(try await Self.concurrentWrites(20, bytes: 1, into: [counted]) == 5)
            #expect(try await counted.list("").count == 5)

            let sized = try await make(FileSystemLimits(maxFileBytes: 10, maxTotalBytes: 100))
            #expect(try await Self.concurrentWrites(20, bytes: 10, into: [sized]) == 10)
            #expect(try await sized.list("").map(\.size).reduce(0, +) == 100)
        }
    }

    @Test("paths that leave /workspace are refused the same way by every operation", arguments: Backend.allCases)
    func escapes(_ backend: Backend) async throws {
        let cases = [
            ("../../etc/passwd", "path '../../etc/passwd' escapes /workspace"),
            ("a/../../b", "path 'a/../../b' escapes /workspace"),
            ("/workspace/../x", "path '/workspace/../x' escapes /workspace"),
            ("/etc/passwd", "path '/etc/passwd' is outside /workspace; use a path under /workspace or a relative path"),
            ("/workspacefoo/x", "path '/workspacefoo/x' is outside /workspace; use a path under /workspace or a relative path"),
            ("a\u{0}b", "path must not contain NUL characters"),
            (String(repeating: "x", count: 1025), "path is longer than 1024 bytes"),
        ]
        try await Self.with(backend) { make in
            let files = try await make()
            for (path, message) in cases {
                #expect(await Self.toolError { _ = try await files.write(path, content: "x") } == message)
                #expect(await Self.toolError { _ = try await files.read(path) } == message)
                #expect(await Self.toolError { _ = try await files.list(path) } == message)
                #expect(await Self.toolError { try await files.delete(path) } == message)
                #expect(await Self.toolError { _ = try await files.stat(path) } == message)
            }
            #expect(try await files.list("").isEmpty)
            // `..` inside the workspace is fine.
            _ = try await files.write("a/../b.txt", content: "x")
            #expect(try await files.stat("/workspace/b.txt")?.size == 1)
        }
    }

    @Test("stat: missing paths and paths under a file are nil; the empty root reports the creation time", arguments: Backend.allCases)
    func statMissing(_ backend: Backend) async throws {
        try await Self.with(backend) { make in
            let files = try await make(clock: TestClock(Self.base))
            #expect(try await files.stat("missing.txt") == nil)
            #expect(try await files.stat("missing/dir") == nil)
            #expect(try await files.stat("/workspace") == FileStat(path: "/workspace", isDirectory: true, size: 0, modifiedAt: Self.base))
            _ = try await files.write("a.txt", content: "x")
            #expect(try await files.stat("a.txt/b") == nil)
            #expect(try await files.stat("a") == nil, "a prefix of a file name is nothing")
        }
    }

    @Test("sessions do not see each other's files", arguments: Backend.allCases)
    func isolation(_ backend: Backend) async throws {
        try await Self.with(backend) { make in
            let first = try await make()
            let second = try await make()
            _ = try await first.write("secret.txt", content: "first only")
            #expect(try await second.stat("secret.txt") == nil)
            #expect(try await second.list("").isEmpty)
            _ = try await second.write("secret.txt", content: "second")
            #expect(try await first.read("secret.txt") == "first only")
        }
    }

    // MARK: PostgreSQL only

    @Test("differential: the same operations give the same answers in memory and in PostgreSQL")
    func differential() async throws {
        let limits = FileSystemLimits(maxFileBytes: 40, maxTotalBytes: 120, maxFiles: 8)
        let nfd = "cafe\u{301}.txt"  // canonically equal to "café.txt"
        let operations: [FileOperation] = [
            .stat(path: ""), .list(path: ""), .read(path: "x"), .delete(path: "x"),
            .write(path: "notes/todo.md", content: "- one\n- two"), .write(path: "café.txt", content: "NFC"),
            .read(path: nfd), .write(path: nfd, content: "NFD overwrites NFC"), .read(path: "café.txt"), .list(path: ""),
            .write(path: "a-b/1", content: "1"), .write(path: "a/2", content: "2"), .write(path: "a.b", content: "3"),
            .list(path: "/workspace"), .list(path: "a"), .stat(path: "a"), .stat(path: "a/"), .stat(path: "a/./2"),
            .write(path: "a", content: "dir"), .write(path: "a/2/3", content: "under a file"),
            .write(path: "x/\u{301}y", content: "combining mark after a slash"), .write(path: "x", content: "x?"),
            .list(path: "x"), .stat(path: "x"), .list(path: ""),
            .write(path: "big", content: String(repeating: "b", count: 41)), .write(path: "big", content: String(repeating: "b", count: 40)),
            .write(path: "big2", content: String(repeating: "b", count: 40)), .write(path: "big", content: "small"),
            .write(path: "f6", content: "6"), .write(path: "f7", content: "7"), .write(path: "f8", content: "8"),
            .write(path: "f9", content: "9"), .write(path: "f6", content: "six"), .delete(path: "a"), .delete(path: "a/2"),
            .stat(path: "a"), .list(path: "a"), .delete(path: ""), .write(path: "", content: ""), .read(path: "/workspace/"),
            .list(path: "notes/todo.md"), .read(path: "../x"), .stat(path: "/etc"), .list(path: ""), .stat(path: ""),
        ]
        try await Self.withStore { store in
            let memoryClock = TestClock(Self.base)
            let postgresClock = TestClock(Self.base)
            let memory = InMemorySessionFileSystem(limits: limits, now: memoryClock.now)
            let postgres = try await Self.makePostgres(store, limits: limits, clock: postgresClock)
            for (index, operation) in operations.enumerated() {
                memoryClock.advance(1)
                postgresClock.advance(1)
                let expected = try await memory.perform(operation)
                let actual = try await postgres.perform(operation)
                #expect(actual == expected, "operation \(index): \(operation)")
            }
        }
    }

    @Test("limits hold across two instances writing to one session at once")
    func concurrentInstances() async throws {
        try await PostgresPersistenceTests.withDatabase { url in
            try await PostgresStore(url: url, maxConnections: 4, migrations: [.durable]).withRunning { a in
                try await PostgresStore(url: url, maxConnections: 4, migrations: [.durable]).withRunning { b in
                    let session = Session()
                    try await a.insertSession(session)
                    let limits = FileSystemLimits(maxFileBytes: 10, maxTotalBytes: 60, maxFiles: 8)
                    let viaA = PostgresSessionFileSystem(store: a, sessionID: session.id, limits: limits)
                    let viaB = PostgresSessionFileSystem(store: b, sessionID: session.id, limits: limits)
                    #expect(try await Self.concurrentWrites(30, bytes: 10, into: [viaA, viaB]) == 6)
                    #expect(try await Self.concurrentWrites(30, bytes: 0, into: [viaA, viaB], prefix: "empty") == 2)
                    #expect(try await viaA.list("").count == 8)
                    #expect(try await viaB.list("") == viaA.list(""), "both instances see the same files")
                }
            }
        }
    }

    @Test("a missing or deleted session: every call fails with a ToolError; deleting the session deletes its files")
    func missingSession() async throws {
        try await Self.withStore { store in
            let ghost = PostgresSessionFileSystem(store: store, sessionID: "session_missing")
            let message = "no such session: 'session_missing'"
            #expect(await Self.toolError { _ = try await ghost.write("a.txt", content: "x") } == message)
            #expect(await Self.toolError { _ = try await ghost.read("a.txt") } == message)
            #expect(await Self.toolError { _ = try await ghost.list("") } == message)
            #expect(await Self.toolError { try await ghost.delete("a.txt") } == message)
            #expect(await Self.toolError { _ = try await ghost.stat("") } == message)

            let files = try await Self.makePostgres(store)
            _ = try await files.write("a/b.txt", content: "x")
            _ = try await files.write("c.txt", content: "y")
            #expect(try await Self.rowCount(store) == 2)
            try await store.deleteSession(id: files.sessionID, organizationID: BuiltIn.organizationID)
            #expect(try await Self.rowCount(store) == 0, "ON DELETE CASCADE")
            #expect(await Self.toolError { _ = try await files.read("c.txt") } == "no such session: '\(files.sessionID)'")
        }
    }

    @Test("content with U+0000 is refused (PostgreSQL text cannot hold it); modified_at has millisecond precision")
    func storageSpecifics() async throws {
        try await Self.withStore { store in
            let files = try await Self.makePostgres(store)
            #expect(await Self.toolError { _ = try await files.write("nul.bin", content: "a\u{0}b") }
                == "cannot write '/workspace/nul.bin': the content contains a NUL character (U+0000), which session files cannot hold")
            #expect(try await files.stat("nul.bin") == nil)

            let before = Date()
            let stat = try await files.write("t.txt", content: "x")
            let milliseconds = stat.modifiedAt.timeIntervalSince1970 * 1000
            #expect(abs(milliseconds - milliseconds.rounded()) < 0.001)
            #expect(abs(stat.modifiedAt.timeIntervalSince(before)) < 5, "the database clock")
            #expect(try await files.stat("t.txt") == stat, "what a write returns is what a later read returns")
            #expect(try await files.list("") == [stat])

            let clocked = try await Self.makePostgres(store, clock: TestClock(Date(timeIntervalSince1970: 1_700_000_000.123_456)))
            let clockedStat = try await clocked.write("a", content: "x")
            #expect(KeelJSON.timestamp(clockedStat.modifiedAt) == "2023-11-14T22:13:20.123Z")
            #expect(clockedStat.modifiedAt.timeIntervalSince1970 < 1_700_000_000.1235, "rounded to the millisecond")
            #expect(try await clocked.stat("a") == clockedStat)
        }
    }

    // MARK: End to end

    @Test("durable server: a file written by a turn survives a restart")
    func survivesRestart() async throws {
        try await PostgresPersistenceTests.withDatabase { url in
            let sessionID = try await TestServer.run(environment: PostgresPersistenceTests.environment(url)) { server in
                let sessionID = try await server.createSession([
                    "model_id": "llmsim/sim", "capabilities": [["ref": "session_file_system"]],
                ])
                let sent = try await server.send(
                    sessionID, #"[[tool:write_file {"path":"/workspace/notes.txt","content":"kept"}]]"#)
                #expect(sent.status == 201)
                let events = try await server.waitForIdle(sessionID)
                let written = Self.toolResults(events, "write_file")
                #expect(written.count == 1)
                #expect(written.first?["success"] == true, "\(written)")
                #expect(written.first?["result"]?["path"] == "/workspace/notes.txt")
                return sessionID
            }
            try await TestServer.run(environment: PostgresPersistenceTests.environment(url)) { server in
                _ = try await server.send(sessionID, #"[[tool:read_file {"path":"/workspace/notes.txt"}]]"#)
                let events = try await server.waitForIdle(sessionID, turns: 2)
                let read = Self.toolResults(events, "read_file")
                #expect(read.count == 1)
                #expect(read.first?["success"] == true, "\(read)")
                #expect(read.first?["result"]?["content"] == "kept")
            }
        }
    }

    @Test("durable server: a file written through a `keel worker` is read by another instance's executor")
    func sharedBetweenInstances() async throws {
        try await PostgresPersistenceTests.withDatabase { url in
            let port = try freeLoopbackPort()
            // The first instance runs no steps itself: its worker (over gRPC) writes the file.
            try await TestServer.run(environment: DurableExecutionTests.environment(url, grpcPort: port)) { first in
                let worker = try WorkerProcess.start(port: port)
                let sessionID = try await first.createSession([
                    "model_id": "llmsim/sim", "capabilities": [["ref": "session_file_system"]],
                ])
                _ = try await first.send(sessionID, #"[[tool:write_file {"path":"shared/a.txt","content":"from the worker"}]]"#)
                let written = Self.toolResults(try await first.waitForIdle(sessionID, timeout: .seconds(30)), "write_file")
                #expect(written.first?["success"] == true, "\(written)")
                _ = await worker.terminate()

                // The worker is gone and the first instance has no executors: the second instance's
                // embedded executors run the next turn.
                try await TestServer.run(environment: PostgresPersistenceTests.environment(url)) { second in
                    _ = try await second.send(
                        sessionID, #"[[tool:read_file {"path":"/workspace/shared/a.txt"}]] [[tool:list_directory {}]]"#)
                    let events = try await second.waitForIdle(sessionID, turns: 2, timeout: .seconds(20))
                    #expect(Self.toolResults(events, "read_file").first?["result"]?["content"] == "from the worker")
                    let entries = Self.toolResults(events, "list_directory").first?["result"]?["entries"]?.arrayValue ?? []
                    #expect(entries.compactMap { $0["path"]?.stringValue } == ["/workspace/shared"])
                    #expect(entries.first?["is_directory"] == true)
                }
            }
        }
    }

    // MARK: Helpers

    static func toolError(_ body: () async throws -> Void) async -> String? {
        do {
            try await body()
            return nil
        } catch let error as ToolError {
            return error.message
        } catch {
            Issue.record("expected a ToolError, got \(String(reflecting: error))")
            return nil
        }
    }

    /// Writes `count` distinct files at once, spread over `systems`; returns how many succeeded.
    /// Refusals must be limit errors.
    static func concurrentWrites(_ count: Int, bytes: Int, into systems: [any SessionFileSystem], prefix: String = "f")
        async throws -> Int
    {
        try await withThrowingTaskGroup(of: Bool.self) { group in
            for index in 0..<count {
                let files = systems[index % systems.count]
                group.addTask {
                    do {
                        _ = try await files.write("\(prefix)\(index).txt", content: String(repeating: "x", count: bytes))
                        return true
                    } catch let error as ToolError {
                        #expect(error.message.contains("maximum of") || error.message.contains("would total"), "\(error)")
                        return false
                    }
                }
            }
            return try await group.reduce(0) { $0 + ($1 ? 1 : 0) }
        }
    }

    static func rowCount(_ store: PostgresStore) async throws -> Int {
        var count = 0
        for try await value in try await store.client.query("SELECT count(*) FROM session_files").decode(Int.self) {
            count = value
        }
        return count
    }

    /// The data of the `tool.completed` events of one tool.
    static func toolResults(_ events: [JSONValue], _ tool: String) -> [JSONValue] {
        events.filter { $0["type"] == "tool.completed" && $0["data"]?["tool_name"]?.stringValue == tool }
            .compactMap { $0["data"] }
    }
}

/// A settable clock, so both file systems stamp the same `modified_at`.
final class TestClock: Sendable {
    private let current: Mutex<Date>

    init(_ start: Date) { current = Mutex(start) }

    @Sendable func now() -> Date { current.withLock { $0 } }

    func advance(_ seconds: TimeInterval) { current.withLock { $0 += seconds } }
}
