import Foundation
import KeelCore
import Testing
@testable import KeelCapabilities

@Suite("InMemorySessionFileSystem")
struct InMemorySessionFileSystemTests {
    @Test("writes and reads back, resolving relative paths against /workspace")
    func writeRead() async throws {
        let files = InMemorySessionFileSystem()
        let stat = try await files.write("notes/a.txt", content: "héllo")
        #expect(stat.path == "/workspace/notes/a.txt")
        #expect(stat.size == 6)
        #expect(!stat.isDirectory)
        #expect(try await files.read("/workspace/notes/a.txt") == "héllo")
        #expect(try await files.read("./notes/../notes/a.txt") == "héllo")
    }

    @Test("directories are implicit and listed with their direct children only")
    func implicitDirectories() async throws {
        let files = InMemorySessionFileSystem()
        _ = try await files.write("/workspace/b.txt", content: "b")
        _ = try await files.write("/workspace/dir/x.txt", content: "x")
        _ = try await files.write("/workspace/dir/sub/y.txt", content: "y")

        let root = try await files.list("/workspace")
        #expect(root.map(\.path) == ["/workspace/b.txt", "/workspace/dir"])
        #expect(root.map(\.isDirectory) == [false, true])
        let dir = try await files.list("dir")
        #expect(dir.map(\.path) == ["/workspace/dir/sub", "/workspace/dir/x.txt"])

        let dirStat = try #require(try await files.stat("/workspace/dir"))
        #expect(dirStat.isDirectory)
        #expect(try await files.stat("/workspace")?.isDirectory == true)
        #expect(try await files.stat("missing.txt") == nil)
    }

    @Test("listing an empty workspace returns nothing; a missing directory is an error")
    func listEmptyAndMissing() async throws {
        let files = InMemorySessionFileSystem()
        #expect(try await files.list("").isEmpty)
        let message = await TestSupport.toolErrorMessage { _ = try await files.list("nowhere") }
        #expect(message?.contains("no such directory") == true)
    }

    @Test("delete removes a file and the directory that only it kept alive")
    func delete() async throws {
        let files = InMemorySessionFileSystem()
        _ = try await files.write("dir/only.txt", content: "x")
        let refused = await TestSupport.toolErrorMessage { try await files.delete("dir") }
        #expect(refused?.contains("is a directory") == true)
        try await files.delete("/workspace/dir/only.txt")
        #expect(try await files.stat("dir") == nil)
        let missing = await TestSupport.toolErrorMessage { try await files.delete("dir/only.txt") }
        #expect(missing?.contains("no such file") == true)
    }

    @Test("paths outside /workspace are refused", arguments: ["../etc/passwd", "/etc/passwd", "/workspace/../x", "a/../../b", "/workspacefoo/x"])
    func escapeRefused(path: String) async {
        let files = InMemorySessionFileSystem()
        let message = await TestSupport.toolErrorMessage { _ = try await files.write(path, content: "x") }
        #expect(message != nil)
        let readMessage = await TestSupport.toolErrorMessage { _ = try await files.read(path) }
        #expect(readMessage?.contains("outside") == true || readMessage?.contains("escapes") == true)
    }

    @Test("a file cannot be used as a directory, nor a directory as a file")
    func fileDirectoryConflicts() async throws {
        let files = InMemorySessionFileSystem()
        _ = try await files.write("a.txt", content: "x")
        let underFile = await TestSupport.toolErrorMessage { _ = try await files.write("a.txt/b.txt", content: "y") }
        #expect(underFile?.contains("is a file") == true)
        _ = try await files.write("d/e.txt", content: "y")
        let overDirectory = await TestSupport.toolErrorMessage { _ = try await files.write("d", content: "z") }
        #expect(overDirectory?.contains("is a directory") == true)
        let readDirectory = await TestSupport.toolErrorMessage { _ = try await files.read("d") }
        #expect(readDirectory?.contains("is a directory") == true)
    }

    @Test("per-file size limit")
    func fileSizeLimit() async throws {
        let files = InMemorySessionFileSystem(limits: FileSystemLimits(maxFileBytes: 10))
        _ = try await files.write("ok.txt", content: String(repeating: "a", count: 10))
        let message = await TestSupport.toolErrorMessage { _ = try await files.write("big.txt", content: String(repeating: "a", count: 11)) }
        #expect(message?.contains("limit of 10 bytes per file") == true)
    }

    @Test("total size limit counts replacements, not just additions")
    func totalSizeLimit() async throws {
        let files = InMemorySessionFileSystem(limits: FileSystemLimits(maxFileBytes: 100, maxTotalBytes: 20))
        _ = try await files.write("a.txt", content: String(repeating: "a", count: 15))
        let message = await TestSupport.toolErrorMessage { _ = try await files.write("b.txt", content: "123456") }
        #expect(message?.contains("over the limit of 20 bytes") == true)
        // Replacing a.txt frees its old size first.
        _ = try await files.write("a.txt", content: String(repeating: "a", count: 20))
        try await files.delete("a.txt")
        _ = try await files.write("b.txt", content: String(repeating: "b", count: 20))
    }

    @Test("file count limit applies to new files only")
    func fileCountLimit() async throws {
        let files = InMemorySessionFileSystem(limits: FileSystemLimits(maxFiles: 2))
        _ = try await files.write("1", content: "")
        _ = try await files.write("2", content: "")
        _ = try await files.write("2", content: "again")
        let message = await TestSupport.toolErrorMessage { _ = try await files.write("3", content: "") }
        #expect(message?.contains("maximum of 2 files") == true)
    }

    @Test("modification times come from the injected clock")
    func clock() async throws {
        let fixed = Date(timeIntervalSince1970: 1_700_000_000)
        let files = InMemorySessionFileSystem(now: { fixed })
        let stat = try await files.write("a", content: "x")
        #expect(stat.modifiedAt == fixed)
    }
}

@Suite("SessionFileSystems")
struct SessionFileSystemsTests {
    @Test("each session gets its own isolated file system")
    func isolation() async throws {
        let registry = SessionFileSystems()
        _ = try await registry.fileSystem(for: "s1").write("secret.txt", content: "s1 only")
        #expect(try await registry.fileSystem(for: "s1").read("secret.txt") == "s1 only")
        #expect(try await registry.fileSystem(for: "s2").stat("secret.txt") == nil)
    }

    @Test("removing a session forgets its files")
    func remove() async throws {
        let registry = SessionFileSystems(limits: FileSystemLimits(maxFiles: 5))
        _ = try await registry.fileSystem(for: "s1").write("a", content: "x")
        registry.remove(sessionID: "s1")
        #expect(try await registry.fileSystem(for: "s1").stat("a") == nil)
        #expect((registry.fileSystem(for: "s1") as? InMemorySessionFileSystem)?.limits.maxFiles == 5)
    }
}
