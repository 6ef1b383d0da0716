import KeelCore
import Testing
@testable import KeelCapabilities

@Suite("grep_files: linear time, budgets and cancellation")
struct GrepFilesBudgetTests {
    let context = TestSupport.context()

    @Test("a catastrophic-backtracking pattern over a long line returns in moments")
    func pathologicalPattern() async throws {
        _ = try await context.files.write("evil.txt", content: String(repeating: "a", count: 5_000) + "!\naaaa")
        let clock = ContinuousClock()
        var result: JSONValue = .null
        let elapsed = try await clock.measure {
            result = try await TestSupport.call(GrepFilesTool(), ["pattern": "^(a+)+$"], context: context)
        }
        // Backtracking would take longer than a lifetime; loose for a loaded 2-core debug build.
        #expect(elapsed < .seconds(10), "took \(elapsed)")
        #expect(result["matches"]?.arrayValue?.compactMap { $0["line"]?.intValue } == [2])
        #expect(result["truncated"] == false)
    }

    @Test("an unsupported construct is a tool error naming it")
    func unsupportedConstruct() async {
        let message = await TestSupport.toolErrorMessage {
            _ = try await TestSupport.call(GrepFilesTool(), ["pattern": "(a)\\1"], context: context)
        }
        #expect(message?.contains("backreferences") == true, "\(message ?? "no error")")
    }

    @Test("the byte budget stops the search with truncated and a reason")
    func byteBudget() async throws {
        for name in ["a", "b", "c"] { _ = try await context.files.write("\(name).txt", content: "hit " + String(repeating: "x", count: 96)) }
        let tool = GrepFilesTool(budget: GrepBudget(maxBytes: 250))
        let result = try await TestSupport.call(tool, ["pattern": "hit"], context: context)
        #expect(result["matches"]?.arrayValue?.count == 2)
        #expect(result["truncated"] == true)
        #expect(result["truncated_reason"]?.stringValue?.contains("250 bytes") == true)
    }

    @Test("the entry budget stops the walk with truncated and a reason")
    func entryBudget() async throws {
        for index in 0..<5 { _ = try await context.files.write("f\(index).txt", content: "hit") }
        // The root directory is the first entry visited, then three files.
        let tool = GrepFilesTool(budget: GrepBudget(maxEntries: 4))
        let result = try await TestSupport.call(tool, ["pattern": "hit"], context: context)
        #expect(result["matches"]?.arrayValue?.count == 3)
        #expect(result["truncated"] == true)
        #expect(result["truncated_reason"]?.stringValue?.contains("4 files and directories") == true)
    }

    @Test("the step budget stops matching with truncated and a reason")
    func stepBudget() async throws {
        _ = try await context.files.write("big.txt", content: "hit\n" + String(repeating: "abcabc\n", count: 10_000))
        let tool = GrepFilesTool(budget: GrepBudget(maxSteps: 5_000))
        let result = try await TestSupport.call(tool, ["pattern": "[a-z]+t"], context: context)
        #expect(result["matches"]?.arrayValue?.count == 1)
        #expect(result["truncated"] == true)
        #expect(result["truncated_reason"]?.stringValue?.contains("5000 matching steps") == true)
    }

    @Test("the match cap reports its reason")
    func matchCapReason() async throws {
        _ = try await context.files.write("many.txt", content: Array(repeating: "hit", count: 201).joined(separator: "\n"))
        let result = try await TestSupport.call(GrepFilesTool(), ["pattern": "hit"], context: context)
        #expect(result["matches"]?.arrayValue?.count == GrepFilesTool.maxMatches)
        #expect(result["truncated_reason"]?.stringValue?.contains("more than 200") == true)
    }

    @Test("cancelling a long scan returns at once")
    func cancelLongScan() async throws {
        // ~2,000 live states per scalar over 500,000 scalars: tens of seconds of matching.
        let files = ReadSignallingFileSystem()
        _ = try await files.write("long.txt", content: String(repeating: "a", count: 500_000))
        let tool = GrepFilesTool(budget: GrepBudget(maxSteps: .max))
        let context = TestSupport.context(files: files)
        let task = Task { try await TestSupport.call(tool, ["pattern": "[ab]{0,1000}c"], context: context) }
        // The scan starts as soon as the file has been read.
        try await withDeadline(.seconds(20), throwing: { TimeoutError(limit: .seconds(20)) }) { await files.hasRead.wait() }
        let clock = ContinuousClock()
        let elapsed = await clock.measure {
            task.cancel()
            _ = await task.result
        }
        #expect(elapsed < .seconds(10), "took \(elapsed)")  // loose for a loaded machine
        await #expect(throws: CancellationError.self) { try await task.value }
    }

    @Test("blocking work resumes its caller at once on cancel and the work sees the flag")
    func blockingWorkCancel() async throws {
        let started = FirstOutcome<Void>()
        let observed = FirstOutcome<Bool>()
        let task = Task {
            try await BlockingWork.run { flag in
                started.complete(())
                // Bounded so a failing test ends; the flag normally stops it at once.
                let deadline = ContinuousClock.now + .seconds(30)
                while !flag.isRaised && ContinuousClock.now < deadline {}
                observed.complete(flag.isRaised)
                return 0
            }
        }
        // Cancelled only once running: work cancelled while still queued never runs (and so
        // would never report what it saw).
        try await withDeadline(.seconds(20), throwing: { TimeoutError(limit: .seconds(20)) }) { await started.value() }
        let clock = ContinuousClock()
        let elapsed = await clock.measure {
            task.cancel()
            _ = await task.result
        }
        #expect(elapsed < .seconds(10))  // loose for a loaded machine
        #expect(try await withDeadline(.seconds(20), throwing: { TimeoutError(limit: .seconds(20)) }) { await observed.value() } == true)
    }
}

/// An in-memory file system that signals once a file has been read: `grep_files` scans a file
/// right after reading it, so a test can cancel a scan that is under way instead of guessing when.
final class ReadSignallingFileSystem: SessionFileSystem {
    private let base = InMemorySessionFileSystem()
    let hasRead = Latch()

    func read(_ path: String) async throws -> String {
        let content = try await base.read(path)
        hasRead.signal()
        return content
    }

    func write(_ path: String, content: String) async throws -> FileStat { try await base.write(path, content: content) }
    func list(_ path: String) async throws -> [FileStat] { try await base.list(path) }
    func delete(_ path: String) async throws { try await base.delete(path) }
    func stat(_ path: String) async throws -> FileStat? { try await base.stat(path) }
}
