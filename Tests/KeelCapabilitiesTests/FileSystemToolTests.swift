import KeelCore
import Testing
@testable import KeelCapabilities

@Suite("Session file system tools")
struct FileSystemToolTests {
    let context = TestSupport.context()

    @Test("write_file, read_file, stat_file, list_directory and delete_file round-trip")
    func roundTrip() async throws {
        let written = try await TestSupport.call(WriteFileTool(), ["path": "docs/a.md", "content": "# Title"], context: context)
        #expect(written["path"] == "/workspace/docs/a.md")
        #expect(written["size"] == 7)
        #expect(written["is_directory"] == false)

        let read = try await TestSupport.call(ReadFileTool(), ["path": "/workspace/docs/a.md"], context: context)
        #expect(read["content"] == "# Title")

        let stat = try await TestSupport.call(StatFileTool(), ["path": "docs"], context: context)
        #expect(stat["exists"] == true)
        #expect(stat["is_directory"] == true)

        let listing = try await TestSupport.call(ListDirectoryTool(), [:], context: context)
        #expect(listing["entries"]?.arrayValue?.compactMap { $0["path"]?.stringValue } == ["/workspace/docs"])

        let deleted = try await TestSupport.call(DeleteFileTool(), ["path": "docs/a.md"], context: context)
        #expect(deleted["deleted"] == "docs/a.md")
        let gone = try await TestSupport.call(StatFileTool(), ["path": "docs/a.md"], context: context)
        #expect(gone["exists"] == false)
    }

    @Test("missing and wrong-typed arguments are reported by name")
    func argumentValidation() async {
        let missing = await TestSupport.toolErrorMessage { _ = try await TestSupport.call(ReadFileTool(), [:]) }
        #expect(missing == "read_file: missing required argument 'path'")
        let wrongType = await TestSupport.toolErrorMessage { _ = try await TestSupport.call(WriteFileTool(), ["path": "a", "content": 3]) }
        #expect(wrongType == "write_file: argument 'content' must be a string")
        let notObject = await TestSupport.toolErrorMessage { _ = try await TestSupport.call(StatFileTool(), ["a"]) }
        #expect(notObject == "stat_file: arguments must be a JSON object")
    }

    @Test("path escapes are refused through the tools too")
    func escape() async {
        let message = await TestSupport.toolErrorMessage {
            _ = try await TestSupport.call(WriteFileTool(), ["path": "../../etc/x", "content": "x"], context: context)
        }
        #expect(message?.contains("escapes /workspace") == true)
    }

    @Test("grep_files finds regex matches with 1-based line numbers, recursively")
    func grep() async throws {
        _ = try await context.files.write("a.txt", content: "alpha\nbeta\r\ngamma beta")
        _ = try await context.files.write("sub/b.txt", content: "nothing\nbetamax")
        _ = try await context.files.write("other/c.txt", content: "beta")

        let result = try await TestSupport.call(GrepFilesTool(), ["pattern": "^beta|gamma"], context: context)
        let matches = try #require(result["matches"]?.arrayValue)
        let triples = matches.map { [$0["path"]?.stringValue ?? "", String($0["line"]?.intValue ?? 0), $0["text"]?.stringValue ?? ""] }
        #expect(triples == [
            ["/workspace/a.txt", "2", "beta"],
            ["/workspace/a.txt", "3", "gamma beta"],
            ["/workspace/other/c.txt", "1", "beta"],
            ["/workspace/sub/b.txt", "2", "betamax"],
        ])
        #expect(result["truncated"] == false)

        let scoped = try await TestSupport.call(GrepFilesTool(), ["pattern": "beta", "path": "sub"], context: context)
        #expect(scoped["matches"]?.arrayValue?.count == 1)
    }

    @Test("grep_files caps results at 200 matches")
    func grepCap() async throws {
        _ = try await context.files.write("many.txt", content: Array(repeating: "hit", count: 250).joined(separator: "\n"))
        let result = try await TestSupport.call(GrepFilesTool(), ["pattern": "hit"], context: context)
        #expect(result["matches"]?.arrayValue?.count == GrepFilesTool.maxMatches)
        #expect(result["truncated"] == true)
    }

    @Test("grep_files reports an invalid pattern and a missing path")
    func grepErrors() async {
        let invalid = await TestSupport.toolErrorMessage { _ = try await TestSupport.call(GrepFilesTool(), ["pattern": "("], context: context) }
        #expect(invalid?.contains("invalid regular expression") == true)
        let missing = await TestSupport.toolErrorMessage {
            _ = try await TestSupport.call(GrepFilesTool(), ["pattern": "x", "path": "nope"], context: context)
        }
        #expect(missing?.contains("no such file or directory") == true)
    }

    @Test("tool parameters are object schemas that name their required arguments")
    func schemas() {
        let tools: [any Tool] = [ReadFileTool(), WriteFileTool(), ListDirectoryTool(), DeleteFileTool(), StatFileTool(), GrepFilesTool()]
        for tool in tools {
            #expect(tool.definition.parameters["type"] == "object")
            #expect(tool.definition.parameters["additionalProperties"] == false)
        }
        #expect(WriteFileTool().definition.parameters["required"] == ["path", "content"])
        #expect(GrepFilesTool().definition.parameters["required"] == ["pattern"])
    }
}
