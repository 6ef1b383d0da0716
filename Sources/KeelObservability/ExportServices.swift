import ServiceLifecycle

/// Runs every export destination as one service, so that on shutdown they all drain at the same
/// time: separate services would be stopped one after another, adding up their drain deadlines.
struct ExportServices: Service {
    let members: [any Service]

    init(_ members: [any Service]) {
        self.members = members
    }

    func run() async throws {
        // Each member watches the graceful-shutdown signal it inherits from this task.
        try await withThrowingDiscardingTaskGroup { group in
            for member in members {
                group.addTask { try await member.run() }
            }
        }
    }
}
