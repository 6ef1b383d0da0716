import Foundation
import Hummingbird
import KeelAgentProtocol
import KeelCore

/// The Agent Protocol (LangGraph Platform) routes at the root of `API_PREFIX`: `/assistants`,
/// `/threads`, `/runs`, `/info`. Bodies are read as JSON values and checked field by field by
/// the service (422 naming the field); errors leave through the one envelope.
struct AgentProtocolController: Sendable {
    let service: AgentProtocolService
    let settings: SSESettings
    /// The same connection limits as `/v1/sessions/{id}/sse`.
    let streams: SSEConnectionLimiter
    let gauge: StreamGauge
    /// Keepalive of streams and waits: at most 5 s, so idle proxies keep the connection and a
    /// departed client is noticed within one interval.
    var keepalive: Duration { min(settings.heartbeatInterval, .seconds(5)) }

    func addPublicRoutes(to router: RouterGroup<KeelRequestContext>) {
        router.get("info") { _, _ in
            try ProtocolResponse.json([
                "name": "keel", "version": .string(KeelCore.version), "status": "running",
                "flags": ["assistants": true, "crons": false, "langsmith": false],
            ])
        }
    }

    func addRoutes(to group: RouterGroup<KeelRequestContext>) {
        addAssistantRoutes(to: group)
        addThreadRoutes(to: group)
        addRunRoutes(to: group)
    }

    /// The JSON body, which must be an object; no body at all reads as `{}`.
    static func body(_ request: Request) async throws -> JSONValue {
        let body = try await RequestDecoding.decodeOptionalBody(JSONValue.self, from: request) ?? [:]
        guard body.objectValue != nil else { throw AgentProtocolError.invalid("The request body must be a JSON object") }
        return body
    }

    static func parameter(_ context: KeelRequestContext, _ name: String) throws -> String {
        guard let value = context.parameters.get(name) else { throw APIError.badRequest("Missing path parameter \(name)") }
        return value
    }
}

/// JSON responses of JSON values.
enum ProtocolResponse {
    /// Sorted keys: the same value is the same bytes, so a replayed stream repeats itself byte for byte.
    static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }()

    static func json(_ value: JSONValue, status: HTTPResponse.Status = .ok) throws -> Response {
        let data = try encoder.encode(value)
        return Response(
            status: status, headers: [.contentType: "application/json"],
            body: ResponseBody(byteBuffer: ByteBuffer(bytes: data)))
    }
}
