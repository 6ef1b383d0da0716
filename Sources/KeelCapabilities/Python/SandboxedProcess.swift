import Foundation
import KeelCore

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Runs one program to completion under a time limit and an output limit.
///
/// No shell is involved (arguments go straight to `posix_spawn`), the environment is exactly
/// what the caller passes, and no other descriptor of the server is inherited. The run ends when
/// the process exits; on timeout or cancellation of the calling task its process group is
/// killed and the call returns within `ChildProcess.killGrace` whatever the child does.
enum SandboxedProcess {
    struct Completion: Sendable {
        /// The exit status, or minus the signal number when the process was killed by a signal.
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
        executable: String, arguments: [String], environment: [String], timeLimit: Duration, outputLimit: Int
    ) async throws -> Outcome {
        try Task.checkCancellation()
        let stdout: (read: Int32, write: Int32)
        let stderr: (read: Int32, write: Int32)
        do {
            stdout = try PosixSpawn.makePipe()
            do {
                stderr = try PosixSpawn.makePipe()
            } catch {
                close(stdout.read)
                close(stdout.write)
                throw error
            }
        } catch {
            throw ToolError("could not start the sandbox: \(error)")
        }
        let collector = OutputCollector(
            stdout: FileHandle(fileDescriptor: stdout.read, closeOnDealloc: true),
            stderr: FileHandle(fileDescriptor: stderr.read, closeOnDealloc: true), limit: outputLimit)
        let child = ChildProcess(
            executable: executable, arguments: arguments, environment: environment, stdout: stdout.write, stderr: stderr.write)

        let termination = await withTaskCancellationHandler {
            await withTaskGroup(of: Void.self) { group in
                group.addTask {
                    guard (try? await Task.sleep(for: timeLimit)) != nil else { return }
                    child.kill()
                }
                let termination = await child.terminated()
                group.cancelAll()
                return termination
            }
        } onCancel: {
            child.kill()
        }
        if Task.isCancelled {
            // Returns at once: the output is of no use to a cancelled caller.
            collector.stop()
            throw CancellationError()
        }
        let output = await withTaskGroup(of: Void.self) { group in
            group.addTask {
                guard (try? await Task.sleep(for: drainGrace)) != nil else { return }
                collector.stop()
            }
            let output = await collector.output()
            group.cancelAll()
            return output
        }
        switch termination {
        case .failedToStart(let reason):
            throw ToolError("could not start the sandbox: \(reason)")
        case .abandoned:
            return .timedOut(output)
        case .exited(let code):
            return child.wasKilled ? .timedOut(output) : .exited(Completion(exitCode: code, output: output))
        }
    }
}
