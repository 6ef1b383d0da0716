import Hummingbird
import KeelAgentProtocol
import KeelCore

extension AgentProtocolController {
    func addThreadRoutes(to group: RouterGroup<KeelRequestContext>) {
        group.post("threads") { request, context in
            let organizationID = try RequestScope.organizationID(context)
            let thread = try await service.createThread(try await Self.body(request), organizationID: organizationID)
            return try ProtocolResponse.json(try await service.threadJSON(thread))
        }
        group.post("threads/search") { request, context in
            let found = try await service.searchThreads(
                try await Self.body(request), organizationID: try RequestScope.organizationID(context))
            return try ProtocolResponse.json(.array(found.page))
        }
        group.post("threads/count") { request, context in
            var body = try await Self.body(request).objectValue ?? [:]
            // The total does not need the threads' values.
            if body["select"] == nil || body["select"] == .null { body["select"] = ["thread_id", "status"] }
            let found = try await service.searchThreads(.object(body), organizationID: try RequestScope.organizationID(context))
            return try ProtocolResponse.json(.number(Double(found.total)))
        }
        group.get("threads/{thread_id}") { _, context in
            let organizationID = try RequestScope.organizationID(context)
            let thread = try await service.thread(try Self.parameter(context, "thread_id"), organizationID: organizationID)
            return try ProtocolResponse.json(try await service.threadJSON(thread))
        }
        group.patch("threads/{thread_id}") { request, context in
            let thread = try await service.patchThread(
                try Self.parameter(context, "thread_id"), try await Self.body(request),
                organizationID: try RequestScope.organizationID(context))
            return try ProtocolResponse.json(try await service.threadJSON(thread))
        }
        group.delete("threads/{thread_id}") { _, context in
            try await service.deleteThread(
                try Self.parameter(context, "thread_id"), organizationID: try RequestScope.organizationID(context))
            return JSONResponse.noContent()
        }
        group.post("threads/{thread_id}/copy") { _, context in
            let thread = try await service.copyThread(
                try Self.parameter(context, "thread_id"), organizationID: try RequestScope.organizationID(context))
            return try ProtocolResponse.json(try await service.threadJSON(thread))
        }
        group.get("threads/{thread_id}/state") { _, context in
            try ProtocolResponse.json(
                try await service.threadState(
                    try Self.parameter(context, "thread_id"), organizationID: try RequestScope.organizationID(context)))
        }
        group.get("threads/{thread_id}/state/{checkpoint_id}") { _, context in
            try ProtocolResponse.json(
                try await service.threadState(
                    try Self.parameter(context, "thread_id"), checkpointID: try Self.parameter(context, "checkpoint_id"),
                    organizationID: try RequestScope.organizationID(context)))
        }
        group.post("threads/{thread_id}/state/checkpoint") { request, context in
            let body = try await Self.body(request)
            let checkpointID = body["checkpoint"]?["checkpoint_id"]?.stringValue ?? body["checkpoint_id"]?.stringValue
            return try ProtocolResponse.json(
                try await service.threadState(
                    try Self.parameter(context, "thread_id"), checkpointID: checkpointID,
                    organizationID: try RequestScope.organizationID(context)))
        }
        group.post("threads/{thread_id}/state") { request, context in
            let body = try await Self.body(request)
            if let values = body["values"], values != .null, values != [:], values != [] {
                throw AgentProtocolError.invalid(
                    "values cannot be written: a thread's state is its conversation; add to it by creating a run")
            }
            let state = try await service.threadState(
                try Self.parameter(context, "thread_id"), organizationID: try RequestScope.organizationID(context))
            return try ProtocolResponse.json(["checkpoint": state["checkpoint"] ?? .null])
        }
        group.post("threads/{thread_id}/history") { request, context in
            let body = try await Self.body(request)
            return try await history(context, limit: body["limit"], before: body["before"])
        }
        group.get("threads/{thread_id}/history") { request, context in
            let limit = try RequestDecoding.string(request, "limit").map { text -> JSONValue in
                guard let value = Int(text) else { throw AgentProtocolError.invalid("limit must be an integer in 1...1000") }
                return .number(Double(value))
            }
            return try await history(context, limit: limit, before: RequestDecoding.string(request, "before").map(JSONValue.string))
        }
    }

    private func history(_ context: KeelRequestContext, limit: JSONValue?, before: JSONValue?) async throws -> Response {
        let count = limit?.intValue ?? 10
        guard (1...1000).contains(count), limit == nil || limit?.intValue != nil else {
            throw AgentProtocolError.invalid("limit must be an integer in 1...1000")
        }
        let beforeID =
            before?.stringValue ?? before?["configurable"]?["checkpoint_id"]?.stringValue
            ?? before?["checkpoint_id"]?.stringValue
        return try ProtocolResponse.json(
            .array(
                try await service.threadHistory(
                    try Self.parameter(context, "thread_id"), limit: count, before: beforeID,
                    organizationID: try RequestScope.organizationID(context))))
    }
}
