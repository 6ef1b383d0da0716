import Hummingbird
import KeelAgentProtocol
import KeelCore

extension AgentProtocolController {
    func addAssistantRoutes(to group: RouterGroup<KeelRequestContext>) {
        group.post("assistants") { request, context in
            let view = try await service.createAssistant(
                try await Self.body(request), organizationID: try RequestScope.organizationID(context))
            return try ProtocolResponse.json(view.json)
        }
        group.get("assistants") { request, context in
            let query: JSONValue = [
                "limit": .number(Double(try RequestDecoding.integer(request, "limit", default: 10, range: 1...1000))),
                "offset": .number(Double(try RequestDecoding.integer(request, "offset", default: 0, range: 0...Int(Int32.max)))),
            ]
            let found = try await service.searchAssistants(query, organizationID: try RequestScope.organizationID(context))
            return try ProtocolResponse.json([
                "assistants": .array(found.page.map(\.json)), "total": .number(Double(found.total)),
            ])
        }
        group.post("assistants/search") { request, context in
            let found = try await service.searchAssistants(
                try await Self.body(request), organizationID: try RequestScope.organizationID(context))
            return try ProtocolResponse.json(.array(found.page.map(\.json)))
        }
        group.post("assistants/count") { request, context in
            let found = try await service.searchAssistants(
                try await Self.body(request), organizationID: try RequestScope.organizationID(context))
            return try ProtocolResponse.json(.number(Double(found.total)))
        }
        group.get("assistants/{assistant_id}") { _, context in
            let view = try await service.assistant(
                try Self.parameter(context, "assistant_id"), organizationID: try RequestScope.organizationID(context))
            return try ProtocolResponse.json(view.json)
        }
        group.patch("assistants/{assistant_id}") { request, context in
            let view = try await service.patchAssistant(
                try Self.parameter(context, "assistant_id"), try await Self.body(request),
                organizationID: try RequestScope.organizationID(context))
            return try ProtocolResponse.json(view.json)
        }
        group.delete("assistants/{assistant_id}") { _, context in
            try await service.deleteAssistant(
                try Self.parameter(context, "assistant_id"), organizationID: try RequestScope.organizationID(context))
            return JSONResponse.noContent()
        }
        group.post("assistants/{assistant_id}/versions") { request, context in
            _ = try await Self.body(request)
            let versions = try await service.assistantVersions(
                try Self.parameter(context, "assistant_id"), organizationID: try RequestScope.organizationID(context))
            return try ProtocolResponse.json(.array(versions))
        }
        group.post("assistants/{assistant_id}/latest") { request, context in
            guard let version = try await Self.body(request)["version"]?.intValue else {
                throw AgentProtocolError.invalid("version must be an integer")
            }
            let view = try await service.setLatestVersion(
                try Self.parameter(context, "assistant_id"), version: version,
                organizationID: try RequestScope.organizationID(context))
            return try ProtocolResponse.json(view.json)
        }
        group.get("assistants/{assistant_id}/schemas") { _, context in
            let view = try await service.assistant(
                try Self.parameter(context, "assistant_id"), organizationID: try RequestScope.organizationID(context))
            return try ProtocolResponse.json(AssistantSchemas.schemas(graphID: view.data.graphID))
        }
        group.get("assistants/{assistant_id}/graph") { _, context in
            _ = try await service.assistant(
                try Self.parameter(context, "assistant_id"), organizationID: try RequestScope.organizationID(context))
            return try ProtocolResponse.json(AssistantSchemas.graph)
        }
    }
}

/// Every Keel agent has the same shape: a model node and a tool node in a loop over messages.
enum AssistantSchemas {
    static let messages: JSONValue = [
        "type": "object",
        "properties": ["messages": ["type": "array", "items": ["type": "object"]]],
    ]

    static func schemas(graphID: String) -> JSONValue {
        [
            "graph_id": .string(graphID), "input_schema": messages, "output_schema": messages, "state_schema": messages,
            "config_schema": [
                "type": "object",
                "properties": ["configurable": [
                    "type": "object",
                    "properties": ["model": ["type": "string"], "system_prompt": ["type": "string"]],
                ]],
            ],
            "context_schema": ["type": "object"],
        ]
    }

    static let graph: JSONValue = [
        "nodes": [
            ["id": "__start__", "type": "schema", "data": "__start__"], ["id": "agent", "type": "runnable", "data": "agent"],
            ["id": "tools", "type": "runnable", "data": "tools"], ["id": "__end__", "type": "schema", "data": "__end__"],
        ],
        "edges": [
            ["source": "__start__", "target": "agent"], ["source": "agent", "target": "tools", "conditional": true],
            ["source": "tools", "target": "agent"], ["source": "agent", "target": "__end__", "conditional": true],
        ],
    ]
}
