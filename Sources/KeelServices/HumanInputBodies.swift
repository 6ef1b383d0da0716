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
            try Self.validateCallID(item.toolCallID)
            let size = (item.result?.jsonString.utf8.count ?? 0) + (item.error?.utf8.count ?? 0)
            guard size <= Self.maxResultBytes else {
                throw .invalid(
                    "the result of \(item.toolCallID.prefix(64)) exceeds \(Self.maxResultBytes) bytes", code: "input_too_large")
            }
            return ClientToolResult(toolCallID: item.toolCallID, result: item.result, error: item.error)
        }
    }

    static func validateCallID(_ id: String) throws(ServiceError) {
        guard !id.isEmpty, id.utf8.count <= 256 else { throw .invalid("tool_call_id must be 1 to 256 bytes") }
    }
}

/// `POST /v1/sessions/{id}/tool-approvals`: `{decisions: [{tool_call_id, approved, reason?}]}`.
public struct ToolApprovalsInput: Decodable, Sendable {
    public struct Item: Decodable, Sendable {
        public var toolCallID: String
        public var approved: Bool
        public var reason: String?

        enum CodingKeys: String, CodingKey {
            case toolCallID = "tool_call_id"
            case approved, reason
        }
    }

    public var decisions: [Item]

    /// At most this many decisions per request.
    public static let maxDecisions = 128
    /// Longest rejection reason, in bytes (the model reads it).
    public static let maxReasonBytes = 4 * 1024

    func validated() throws(ServiceError) -> [ToolApprovalDecision] {
        guard !decisions.isEmpty else { throw .invalid("decisions must contain at least one decision") }
        guard decisions.count <= Self.maxDecisions else {
            throw .invalid("decisions holds at most \(Self.maxDecisions) decisions", code: "input_too_large")
        }
        return try decisions.map { item throws(ServiceError) in
            try ToolResultsInput.validateCallID(item.toolCallID)
            guard (item.reason?.utf8.count ?? 0) <= Self.maxReasonBytes else {
                throw .invalid("reason exceeds \(Self.maxReasonBytes) bytes", code: "input_too_large")
            }
            return ToolApprovalDecision(toolCallID: item.toolCallID, approved: item.approved, reason: item.reason)
        }
    }
}

/// `POST /v1/sessions/{id}/question-answers`: `{tool_call_id?, answers: ["…", …]}`, one answer
/// per question in order.
public struct QuestionAnswersInput: Decodable, Sendable {
    public var toolCallID: String?
    public var answers: [String]

    enum CodingKeys: String, CodingKey {
        case toolCallID = "tool_call_id"
        case answers
    }

    /// Largest answer set (all answers together), in bytes.
    public static let maxAnswerBytes = 100 * 1024

    func validated() throws(ServiceError) -> QuestionAnswers {
        if let toolCallID { try ToolResultsInput.validateCallID(toolCallID) }
        guard !answers.isEmpty, answers.count <= AskUser.maxQuestions else {
            throw .invalid("answers must hold 1 to \(AskUser.maxQuestions) answers, one per question")
        }
        guard answers.reduce(0, { $0 + $1.utf8.count }) <= Self.maxAnswerBytes else {
            throw .invalid("answers exceed \(Self.maxAnswerBytes) bytes", code: "input_too_large")
        }
        return QuestionAnswers(toolCallID: toolCallID, answers: answers)
    }
}
