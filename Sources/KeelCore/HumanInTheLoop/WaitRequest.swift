import Foundation

/// What an act step waits for before it can finish: results from the client (client-side tool
/// calls and `ask_user` questions) or decisions on held calls. The step runs again, skipping
/// everything recorded, once all of them are in.
public struct WaitRequest: Codable, Sendable, Hashable {
    public enum Kind: String, Codable, Sendable {
        /// Client-side tool results and question answers.
        case results
        /// Approvals of held calls.
        case approval
    }

    public var kind: Kind
    public var calls: [ToolCall]
    /// The `ask_user` calls among `calls` (answered through `/question-answers`).
    public var questionCallIDs: [String]

    enum CodingKeys: String, CodingKey {
        case kind, calls
        case questionCallIDs = "question_call_ids"
    }

    public init(kind: Kind, calls: [ToolCall], questionCallIDs: [String] = []) {
        self.kind = kind
        self.calls = calls
        self.questionCallIDs = questionCallIDs
    }
}
