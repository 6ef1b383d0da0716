import Foundation
import KeelCore
@testable import KeelCapabilities

/// Shared helpers for calling tools the way the engine does.
enum TestSupport {
    static func context(files: any SessionFileSystem = InMemorySessionFileSystem()) -> ToolContext {
        ToolContext(sessionID: "sess_test", organizationID: "org_test", files: files)
    }

    /// Calls `tool` with a fresh context unless one is given.
    static func call(_ tool: any Tool, _ arguments: JSONValue, context: ToolContext = context()) async throws -> JSONValue {
        try await tool.call(arguments, context: context)
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
