import Foundation
import KeelCore

/// Runs one program to completion under a time limit and an output limit.
///
/// No shell is involved (arguments go straight to `posix_spawn`), the environment is exactly
/// what the caller passes, and the child's process group is killed on timeout, on cancellation
/// of the calling task, and after a normal exit (to reap anything left in the background).
enum SandboxedProcess {
    struct Completion: Sendable {
        /// The exit status, or minus the signal number when the process was killed by a signal
        /// (the convention of Python's `subprocess`).
        var exitCode: Int32
        var output: OutputCollector.Output
    }

    enum Outcome: Sendable {
        case exited(Completion)
        case timedOut(OutputCollector.Output)
    }

    /// How long to wait for the pipes to reach end-of-file once the child has exited.
    static let drainGrace: Duration = .seconds(1)

    static func run(
        executable: URL, arguments: [String], environment: [String: String], workingDirectory: URL,
        timeLimit: Duration, outputLimit: Int
    ) async throws -> Outcome {
        try Task.checkCancellation()
        let process = Process()
        process.executableURL = executable
        process.arguments = arguments
        process.environment = environment
        process.currentDirectoryURL = workingDirectory
        process.standardInput = FileHandle.nullDevice
        let stdout = Pipe()
        let stderr = Pipe()
        process.standardOutput = stdout
        process.standardError = stderr

        let exit = OneShot<Int32>()
        process.terminationHandler = { finished in
            let status = finished.terminationStatus
            exit.complete(finished.terminationReason == .uncaughtSignal ? -status : status)
        }
        do {
            try process.run()
        } catch {
            throw ToolError("could not start \(executable.lastPathComponent): \(error.localizedDescription)")
        }
        let killer = ProcessKiller(pid: process.processIdentifier)
        let collector = OutputCollector(
            stdout: stdout.fileHandleForReading, stderr: stderr.fileHandleForReading, limit: outputLimit
        )

        let exitCode = await withTaskCancellationHandler {
            await withTaskGroup(of: Void.self) { group in
                group.addTask {
                    guard (try? await Task.sleep(for: timeLimit)) != nil else { return }
                    killer.timeOut()
                }
                let code = await exit.value()
                group.cancelAll()
                return code
            }
        } onCancel: {
            killer.terminate()
        }
        // Reaps anything the code left running in the background.
        killer.terminate()
        withExtendedLifetime(process) {}

        let output = await withTaskGroup(of: Void.self) { group in
            group.addTask {
                guard (try? await Task.sleep(for: drainGrace)) != nil else { return }
                collector.stop()
            }
            let output = await collector.output()
            group.cancelAll()
            return output
        }
        try Task.checkCancellation()
        if killer.timedOut { return .timedOut(output) }
        return .exited(Completion(exitCode: exitCode, output: output))
    }
}
