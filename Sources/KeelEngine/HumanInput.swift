import Foundation
import KeelCore

/// One result a client posts for a client-side tool call.
public struct ClientToolResult: Sendable, Hashable {
    public var toolCallID: String
    public var result: JSONValue?
    public var error: String?

    public init(toolCallID: String, result: JSONValue?, error: String?) {
        self.toolCallID = toolCallID
        self.result = result
        self.error = error
    }
}

/// A person's decision on one held tool call.
public struct ToolApprovalDecision: Sendable, Hashable {
    public var toolCallID: String
    public var approved: Bool
    public var reason: String?

    public init(toolCallID: String, approved: Bool, reason: String?) {
        self.toolCallID = toolCallID
        self.approved = approved
        self.reason = reason
    }
}

/// The user's answers to one `ask_user` call, in question order; `toolCallID` may be left out
/// while exactly one question set is pending.
public struct QuestionAnswers: Sendable, Hashable {
    public var toolCallID: String?
    public var answers: [String]

    public init(toolCallID: String?, answers: [String]) {
        self.toolCallID = toolCallID
        self.answers = answers
    }
}

/// What a submission did: how many entries it recorded and the session's status after.
public struct HumanInputAccepted: Sendable, Hashable {
    public var accepted: Int
    public var status: SessionStatus
}

/// The three kinds of input a waiting turn takes.
public enum HumanInputKind: String, Sendable, Hashable {
    case toolResults = "tool results"
    case toolApprovals = "tool approvals"
    case questionAnswers = "answers to questions"
}

public enum HumanInputError: Error, Sendable, Hashable {
    /// No turn of the session waits for this kind of input (409; for tool results the SDK
    /// retries on the text "not waiting for tool results").
    case notWaiting(HumanInputKind)
    /// An entry names a call the turn does not wait on for this kind of input (400).
    case unknownCall(String)
    /// An entry repeats a call, in the request or one already answered (400).
    case duplicate(String)
    /// The answers do not match the questions one to one (400).
    case answerCount(expected: Int, got: Int)
    /// Several question sets are pending and the answers name none (400).
    case questionSetNotNamed
}
