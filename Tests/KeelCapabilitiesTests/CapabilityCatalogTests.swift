import KeelCore
import Testing
@testable import KeelCapabilities

@Suite("CapabilityCatalog")
struct CapabilityCatalogTests {
    @Test("experimental capabilities are hidden unless allowed")
    func experimental() throws {
        let standard = CapabilityCatalog(allowExperimental: false)
        #expect(
            standard.all.map(\.id) == [
                "current_time", "session_file_system", "web_fetch", "stateless_todo_list", "test_math", "ask_user",
                "tool_approval",
            ])
        #expect(standard.capability(id: "python") == nil)
        #expect(throws: UnknownCapability("python")) { try standard.resolve(["python"]) }

        let experimental = CapabilityCatalog(allowExperimental: true)
        let python = try #require(experimental.capability(id: "python"))
        #expect(python.experimental)
        #expect(python.tools.map(\.definition.name) == ["run_python"])
        #expect(try experimental.resolve(["python"]).map(\.id) == ["python"])
    }

    @Test("unknown ids are a typed error naming the id")
    func unknown() {
        let catalog = CapabilityCatalog()
        #expect(throws: UnknownCapability("nope")) { try catalog.resolve(["current_time", "nope"]) }
        #expect(UnknownCapability("nope").description == "unknown capability 'nope'")
    }

    @Test("resolve dedupes and keeps the order of first mention")
    func dedupe() throws {
        let catalog = CapabilityCatalog()
        let ids = try catalog.resolve(["test_math", "current_time", "test_math", "web_fetch", "current_time"]).map(\.id)
        #expect(ids == ["test_math", "current_time", "web_fetch"])
        #expect(try catalog.resolve([]).isEmpty)
    }

    @Test("dependencies are added once, before the capability that needs them, even in a cycle")
    func dependencies() throws {
        func capability(_ id: String, _ dependencies: [String] = []) -> Capability {
            Capability(id: id, name: id, description: id, category: "test", dependencies: dependencies, tools: [])
        }
        let catalog = CapabilityCatalog(capabilities: [
            capability("shell", ["files"]), capability("files"), capability("a", ["b"]), capability("b", ["a"]),
            capability("broken", ["missing"]),
        ])
        #expect(try catalog.resolve(["shell"]).map(\.id) == ["files", "shell"])
        #expect(try catalog.resolve(["files", "shell"]).map(\.id) == ["files", "shell"])
        #expect(try catalog.resolve(["a"]).map(\.id) == ["b", "a"])
        #expect(throws: UnknownCapability("missing")) { try catalog.resolve(["broken"]) }
    }

    @Test("every built-in capability is described and its tool names are unique")
    func descriptions() {
        let catalog = CapabilityCatalog(allowExperimental: true)
        // These two offer no server tool: the engine holds their calls (ask_user) or other tools' calls.
        let heldByTheEngine: Set = ["ask_user", "tool_approval"]
        for capability in catalog.all {
            #expect(!capability.name.isEmpty)
            #expect(!capability.description.isEmpty)
            #expect(!capability.category.isEmpty)
            #expect(capability.systemPromptAddition?.isEmpty == false || capability.id == "tool_approval")
            #expect(capability.tools.isEmpty == heldByTheEngine.contains(capability.id), "\(capability.id)")
        }
        let names = catalog.all.flatMap { $0.tools.map(\.definition.name) }
        #expect(Set(names).count == names.count)
        #expect(catalog.capability(id: "session_file_system")?.tools.map(\.definition.name)
            == ["read_file", "write_file", "list_directory", "delete_file", "stat_file", "grep_files"])
        #expect(catalog.capability(id: "test_math")?.tools.map(\.definition.name) == ["add", "subtract", "multiply", "divide"])
    }

    @Test("the web_fetch configuration reaches the tool")
    func webFetchConfiguration() throws {
        let catalog = CapabilityCatalog(webFetch: WebFetchConfiguration(allowPrivateAddresses: true, maxBytes: 42))
        let tool = try #require(catalog.capability(id: "web_fetch")?.tools.first as? WebFetchTool)
        #expect(tool.configuration.maxBytes == 42)
        #expect(tool.configuration.allowPrivateAddresses)
    }
}
