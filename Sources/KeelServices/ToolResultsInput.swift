import KeelCore
import KeelEngine

/// `POST /v1/sessions/{id}/tool-results`: `{tool_results: [{tool_call_id, result?, error?}]}`.
public struct ToolResultsInput: Decodable, Sendable {
    public struct Item: Decodable, Sendable {
        public var toolCallID: String
        public var result: JSONValue?
        public var error: String?

        enum CodingKeys: String, CodingKey {
            case toolCallID = "tool_call_id"
            case result, error
        }
    }

    public var toolResults: [Item]

    enum CodingKeys: String, CodingKey {
        case toolResults = "tool_results"
    }

    /// At most this many results per request.
    public static let maxResults = 128
    /// Largest result (its JSON with the error text), 100 KB as the Everruns contract says.
    public static let maxResultBytes = 100 * 1024

    /// The results, checked: at least one, at most `maxResults`, ids of at most 256 bytes, each
    /// result within `maxResultBytes`.
    func validated() throws(ServiceError) -> [ClientToolResult] {
        guard !toolResults.isEmpty else { throw .invalid("tool_results must contain at least one result") }
        guard toolResults.count <= Self.maxResults else {
            throw .invalid("tool_results holds at most \(Self.maxResults) results", code: "input_too_large")
        }
        return try toolResults.map { item throws(ServiceError) in
            guard !item.toolCallID.isEmpty, item.toolCallID.utf8.count <= 256 else {
                throw .invalid("tool_call_id must be 1 to 256 bytes")
            }
            let size = (item.result?.jsonString.utf8.count ?? 0) + (item.error?.utf8.count ?? 0)
            guard size <= Self.maxResultBytes else {
                throw .invalid(
                    "the result of \(item.toolCallID.prefix(64)) exceeds \(Self.maxResultBytes) bytes", code: "input_too_large")
            }
            return ClientToolResult(toolCallID: item.toolCallID, result: item.result, error: item.error)
        }
    }
}
