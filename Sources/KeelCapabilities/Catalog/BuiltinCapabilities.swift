import AsyncHTTPClient
import KeelCore

/// The definitions of the capabilities Keel ships with.
///
/// Each factory returns a fully wired `Capability`; `CapabilityCatalog` decides which of them
/// are visible. The `systemPromptAddition` of each tells the model, in one sentence, when the
/// tools are worth using.
public enum BuiltinCapabilities {
    public static func currentTime() -> Capability {
        Capability(
            id: "current_time", name: "Current Time",
            description: "Tells the agent the current date and time in any time zone.",
            category: "utilities",
            systemPromptAddition: "You have no clock of your own: call get_current_time whenever the answer depends on the current date or time.",
            tools: [GetCurrentTimeTool()]
        )
    }

    public static func sessionFileSystem() -> Capability {
        Capability(
            id: "session_file_system", name: "Session File System",
            description: "A private file workspace per session under /workspace: read, write, list, delete, stat and grep files.",
            category: "file_system",
            systemPromptAddition: "You have a private workspace at /workspace that persists for this session: use the file tools to save notes, drafts and intermediate results and to read them back.",
            tools: [ReadFileTool(), WriteFileTool(), ListDirectoryTool(), DeleteFileTool(), StatFileTool(), GrepFilesTool()]
        )
    }

    public static func webFetch(configuration: WebFetchConfiguration, httpClient: HTTPClient) -> Capability {
        Capability(
            id: "web_fetch", name: "Web Fetch",
            description: "Fetches public web pages and HTTP APIs with GET (private network addresses blocked, size and time limited).",
            category: "network",
            systemPromptAddition: "Use web_fetch to read a public web page or API response when you need information from a specific URL.",
            tools: [WebFetchTool(configuration: configuration, httpClient: httpClient)]
        )
    }

    public static func statelessTodoList() -> Capability {
        Capability(
            id: "stateless_todo_list", name: "Todo List",
            description: "Lets the agent keep a visible step-by-step plan with pending, in-progress and completed items.",
            category: "planning",
            systemPromptAddition: "For multi-step tasks, keep a plan with write_todos: send the complete list each time and update item statuses as you progress.",
            tools: [WriteTodosTool()]
        )
    }

    public static func testMath() -> Capability {
        Capability(
            id: "test_math", name: "Test Math",
            description: "Arithmetic tools (add, subtract, multiply, divide) for testing tool calling.",
            category: "testing",
            systemPromptAddition: "Use the add, subtract, multiply and divide tools for arithmetic instead of computing in your head.",
            tools: ArithmeticTool.Operation.allCases.map(ArithmeticTool.init)
        )
    }

    public static func python(configuration: PythonConfiguration) -> Capability {
        Capability(
            id: "python", name: "Python (experimental)",
            description: "Runs short Python 3 programs in a bubblewrap sandbox: no network, no host files, time, memory, process and output limits.",
            category: "code_execution", experimental: true,
            systemPromptAddition: "Use run_python to compute, parse or transform data with a short Python 3 program; print() what you need, since only stdout and stderr come back.",
            tools: [RunPythonTool(configuration: configuration)]
        )
    }

    /// `ask_user`: the tool is not a server tool: its calls wait for the user's answers (the
    /// turn's plan offers it and the engine holds the turn).
    public static func askUser() -> Capability {
        Capability(
            id: AskUser.capabilityID, name: "Ask User",
            description: "Lets the agent ask the user questions (with optional choices) and wait for the answers.",
            category: "human_in_the_loop",
            systemPromptAddition: "When you need information or a decision only the user can give, call ask_user with your questions instead of guessing.",
            tools: []
        )
    }

    /// `tool_approval`: holds calls of the tools in `config.tools` (all tools with `"*"` or
    /// no list) until a person approves or rejects each one.
    public static func toolApproval() -> Capability {
        Capability(
            id: ToolApprovalRule.capabilityID, name: "Tool Approval",
            description: "Holds calls of the configured tools (config.tools: names, or \"*\" for all) until a person approves or rejects each one.",
            category: "safety",
            tools: []
        )
    }
}
