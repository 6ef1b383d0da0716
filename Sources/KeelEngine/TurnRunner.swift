import Foundation
import KeelCore

/// What the HTTP API needs from whoever runs turns (`TurnControl`, over memory or PostgreSQL).
public protocol TurnRunner: Sendable {
    var configuration: EngineConfiguration { get }
    var modelResolver: ModelResolver { get }
    /// Records the user's message as `input.message` and schedules a turn for it (after any turn
    /// of the session that is running or queued). The session must be the organization's.
    func submit(_ message: Message, sessionID: String, organizationID: String, traceContext: TraceContext?)
        async throws -> Event
    /// Like `submit`, but refuses with `SessionBusy` (recording nothing) when a turn of the session
    /// is queued, or running and not waiting for a person or client: the check and the submission
    /// are one step under the session's lock.
    func submitIfIdle(_ message: Message, sessionID: String, organizationID: String, traceContext: TraceContext?)
        async throws -> Event
    /// Cancels the running turn and drops queued ones. Returns false when nothing was running (or
    /// the session is not the organization's).
    func cancel(sessionID: String, organizationID: String) async throws -> Bool
    /// Records the client's results of the running turn's client-side calls; the turn resumes
    /// once every pending call has one. Throws `HumanInputError`.
    func submitToolResults(_ results: [ClientToolResult], sessionID: String, organizationID: String) async throws
        -> HumanInputAccepted
    /// Records decisions on held calls; the turn resumes once every held call has one.
    func submitApprovals(_ decisions: [ToolApprovalDecision], sessionID: String, organizationID: String) async throws
        -> HumanInputAccepted
    /// Records the answers to one `ask_user` question set as the call's result.
    func submitAnswers(_ answers: QuestionAnswers, sessionID: String, organizationID: String) async throws
        -> HumanInputAccepted
    /// Releases what the runner keeps for a session outside the store (its files and steps, in
    /// DEV_MODE); called after the session is deleted.
    func sessionDeleted(sessionID: String) async
}

/// A submission that required an idle session found a turn running or queued.
public struct SessionBusy: Error, Sendable, Hashable {
    public init() {}
}

/// The events that end a cancelled turn, shared by every runner so clients see one shape.
public enum CancelledTurn {
    public static func events(turnID: String, context: EventContext, model: String, usage: Usage) -> [EventDraft] {
        let notice = Message(role: .user, content: [.text(UserFacingText.cancelRequest)])
        let reply = Message(role: .agent, content: [.text(UserFacingText.cancelled)])
        return [
            EventDraft(TurnCancelledPayload(turnID: turnID, reason: "user_requested", usage: usage), context: context),
            EventDraft(
                InputMessagePayload(message: notice), context: EventContext(turnID: turnID, inputMessageID: notice.id)),
            EventDraft(OutputMessageCompletedPayload(message: reply, model: model, usage: Usage()), context: context),
        ]
    }
}
