import Foundation
import KeelCore
@testable import KeelCapabilities

#if canImport(Glibc)
import Glibc
#endif

/// Shared helpers for calling tools the way the engine does.
enum TestSupport {
    static func context(files: any SessionFileSystem = InMemorySessionFileSystem()) -> ToolContext {
        ToolContext(sessionID: "sess_test", organizationID: "org_test", files: files)
    }

    /// Calls `tool` with a fresh context unless one is given.
    static func call(_ tool: any Tool, _ arguments: JSONValue, context: ToolContext = context()) async throws -> JSONValue {
        try await tool.call(arguments, context: context)
    }

    /// Host processes (pids) whose command line contains `marker`. `run_python` passes the
    /// program as an argument, so a marker in its text names the sandbox and everything it forked.
    static func processes(containing marker: String) throws -> [String] {
        let pids = try FileManager.default.contentsOfDirectory(atPath: "/proc").filter { Int($0) != nil && $0 != String(getpid()) }
        return pids.filter { pid in
            guard let data = FileManager.default.contents(atPath: "/proc/\(pid)/cmdline") else { return false }
            return String(decoding: data, as: UTF8.self).contains(marker)
        }
    }

    /// Waits (bounded; the bound only matters when a test fails) until a process whose command
    /// line contains `marker` runs.
    static func waitForProcess(containing marker: String, timeout: Duration = .seconds(20)) async throws {
        let deadline = ContinuousClock.now + timeout
        while try processes(containing: marker).isEmpty {
            guard ContinuousClock.now < deadline else { throw TimeoutError(limit: timeout) }
            try await Task.sleep(for: .milliseconds(20))
        }
    }

    /// The `ToolError` message thrown by `body`, or `nil` when it threw nothing or something else.
    static func toolErrorMessage(_ body: () async throws -> Void) async -> String? {
        do {
            try await body()
            return nil
        } catch let error as ToolError {
            return error.message
        } catch {
            return nil
        }
    }
}
