import Foundation
import KeelCore

/// Burns CPU on a thread of its own, ignoring cancellation, until the test signals `release` or
/// `spin` passes, then answers: a tool whose code a timeout cannot stop (a hung library call, a
/// runaway loop).
struct SpinningTool: Tool {
    var spin: Duration
    var release = Latch()
    var finished = Counter()
    var definition: ToolDefinition { toolDefinition("spin") }

    func call(_ arguments: JSONValue, context: ToolContext) async throws -> JSONValue {
        let (spin, release, finished) = (spin, release, finished)
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let thread = Thread {
                let deadline = ContinuousClock.now + spin
                var sink = 0
                while ContinuousClock.now < deadline, !release.isSignalled { sink &+= 1 }
                finished.increment()
                continuation.resume()
            }
            thread.start()
        }
        return "spun"
    }
}

/// An error whose description holds things the model must never see.
struct InternalDumpError: Error, CustomStringConvertible {
    var description: String { "connection to /var/lib/keel/secret.db failed; row={api_key: sk-live-4242}" }
}

/// Throws `InternalDumpError`: an unexpected (non-`ToolError`) failure.
struct LeakyTool: Tool {
    var definition: ToolDefinition { toolDefinition("leaky") }

    func call(_ arguments: JSONValue, context: ToolContext) async throws -> JSONValue {
        throw InternalDumpError()
    }
}
