import Foundation
import KeelCore

/// `run_python(code)`: runs a Python snippet in a bubblewrap sandbox (experimental).
///
/// The program sees no server file, process, environment variable or network (see
/// `PythonSandbox`), runs under rlimits and a wall-clock limit, starts in an empty private
/// working directory that vanishes with it, and its output is capped. Without a working sandbox
/// on the host the tool refuses to run (and the catalog does not offer it).
public struct RunPythonTool: Tool {
    public let configuration: PythonConfiguration

    public init(configuration: PythonConfiguration = PythonConfiguration()) {
        self.configuration = configuration
    }

    /// A little above the run's own limit, so the tool reports its own clearer timeout.
    public var timeout: Duration? { configuration.timeout + .seconds(5) }

    public var definition: ToolDefinition {
        ToolDefinition(
            name: "run_python",
            description: "Run a Python 3 program (standard library only) in an isolated sandbox and return its exit code, stdout and stderr. Use print() to produce output. Runs in a fresh empty directory with no network access, a \(configuration.timeout.shortDescription) time limit and \(configuration.limits.memoryBytes >> 20) MiB of memory; nothing persists between calls.",
            parameters: JSONSchema.object(
                ["code": JSONSchema.string("Complete Python 3 source code to execute.")],
                required: ["code"]
            )
        )
    }

    public func call(_ arguments: JSONValue, context: ToolContext) async throws -> JSONValue {
        let code = try ToolArguments(arguments, tool: "run_python").string("code")
        guard code.utf8.count <= configuration.maxCodeBytes else {
            throw ToolError("run_python: code is \(code.utf8.count) bytes, over the limit of \(configuration.maxCodeBytes) bytes")
        }
        guard !code.contains("\0") else { throw ToolError("run_python: code must not contain NUL characters") }
        guard configuration.locateExecutable() != nil else {
            throw ToolError("run_python: \(configuration.executable) is not installed on this server")
        }
        let sandbox: PythonSandbox
        // The first call may run the start-up probe (a blocking spawn and wait): off the pool.
        let configuration = self.configuration
        switch try await BlockingWork.run({ _ in PythonSandbox.availability(for: configuration) }) {
        case .success(let available): sandbox = available
        case .failure(let unavailable): throw ToolError("run_python: no sandbox can be set up on this server (\(unavailable.reason))")
        }
        let (program, arguments) = sandbox.command(["-I", "-c", code])
        let outcome = try await SandboxedProcess.run(
            executable: program, arguments: arguments, environment: [],
            timeLimit: configuration.timeout, outputLimit: configuration.outputLimit)
        switch outcome {
        case .timedOut:
            throw ToolError("timed out after \(configuration.timeout.shortDescription)")
        case .exited(let completion):
            let output = completion.output
            return [
                "exit_code": JSONValue(Int(completion.exitCode)),
                "stdout": .string(UTF8Truncation.decode(output.stdout.bytes, truncated: output.stdout.truncated)),
                "stderr": .string(UTF8Truncation.decode(output.stderr.bytes, truncated: output.stderr.truncated)),
                "truncated": .bool(output.stdout.truncated || output.stderr.truncated),
            ]
        }
    }
}
