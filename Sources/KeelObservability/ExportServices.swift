import ServiceLifecycle

/// Runs every export destination as one service, so that on shutdown they all drain at the same
/// time: separate services would be stopped one after another, adding up their drain deadlines.
public struct ExportServices: Service {
    public let members: [any Service]

    public init(_ members: [any Service]) {
        self.members = members
    }

    public func run() async throws {
        // Each member watches the graceful-shutdown signal it inherits from this task.
        try await withThrowingDiscardingTaskGroup { group in
            for member in members {
                group.addTask { try await member.run() }
            }
        }
    }
}
