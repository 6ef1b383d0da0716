import Foundation
import KeelCore

/// `run_python(code)`: runs a Python snippet in a subprocess (experimental).
///
/// This is not a security sandbox — the code runs as the server's user with its file system
/// and network — which is why the capability is experimental and hidden unless the operator opts
/// in. What it does bound is the blast radius of mistakes: isolated mode (`-I`: no user site
/// packages, no `PYTHON*` variables), an environment containing only `PATH` (so no server
/// secrets), a fresh scratch working directory deleted afterwards, a time limit, and capped
/// output.
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
            description: "Run a Python 3 program and return its exit code, stdout and stderr. Use print() to produce output. Runs in a fresh empty directory, with a \(configuration.timeout.shortDescription) time limit; nothing persists between calls.",
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
        guard let executable = configuration.locateExecutable() else {
            throw ToolError("run_python: \(configuration.executable) is not installed on this server")
        }
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("keel-python-\(UUID().uuidString)")
        do {
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        } catch {
            throw ToolError("run_python: could not create a working directory: \(error.localizedDescription)")
        }
        defer { try? FileManager.default.removeItem(at: directory) }

        // The tool kills the child at its time limit; `timeout` adds a bound that holds even when this
        // server dies first (a hard crash would otherwise leave `while True: pass` running forever).
        let (program, arguments) = Self.bounded(executable, ["-I", "-c", code], limit: configuration.timeout)
        let outcome = try await SandboxedProcess.run(
            executable: program, arguments: arguments, environment: ["PATH": PythonConfiguration.searchPath],
            workingDirectory: directory, timeLimit: configuration.timeout, outputLimit: configuration.outputLimit
        )
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

    static let timeoutProgram = URL(fileURLWithPath: "/usr/bin/timeout")

    /// Wraps the command in coreutils `timeout --signal=KILL` (limit + 5 s) when it is installed.
    static func bounded(_ executable: URL, _ arguments: [String], limit: Duration) -> (URL, [String]) {
        guard FileManager.default.isExecutableFile(atPath: timeoutProgram.path) else { return (executable, arguments) }
        let seconds = Int(limit.components.seconds) + 5
        return (timeoutProgram, ["--signal=KILL", "\(seconds)s", executable.path] + arguments)
    }
}
