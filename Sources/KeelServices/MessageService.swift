import KeelCore
import KeelEngine

/// Messages into a session's turns: validation of user input, submission (queued behind a
/// running turn, within the per-session limit) and cancellation.
public struct MessageService: Sendable {
    let runner: any TurnRunner

    public init(runner: any TurnRunner) {
        self.runner = runner
    }

    /// Validates the user's message, records it and schedules its turn. Returns the message as
    /// stored (with the session's id).
    public func submit(_ input: MessageInput, to session: Session, traceContext: TraceContext?) async throws -> Message {
        let message = try Self.validated(input)
        do {
            _ = try await runner.submit(
                message, sessionID: session.id, organizationID: session.organizationID, traceContext: traceContext)
        } catch let refusal as QueuedMessageLimitExceeded {
            throw ServiceError.tooManyQueuedMessages(limit: refusal.limit)
        }
        var created = message
        created.sessionID = session.id
        return created
    }

    /// Records the client's results of client-side tool calls; the turn resumes once all are in.
    public func submitToolResults(_ input: ToolResultsInput, to session: Session) async throws -> HumanInputAccepted {
        try await runner.submitToolResults(
            try input.validated(), sessionID: session.id, organizationID: session.organizationID)
    }

    /// Records decisions on held tool calls; the turn resumes once every held call has one.
    public func submitApprovals(_ input: ToolApprovalsInput, to session: Session) async throws -> HumanInputAccepted {
        try await runner.submitApprovals(try input.validated(), sessionID: session.id, organizationID: session.organizationID)
    }

    /// Records the user's answers to an `ask_user` question set.
    public func submitAnswers(_ input: QuestionAnswersInput, to session: Session) async throws -> HumanInputAccepted {
        try await runner.submitAnswers(try input.validated(), sessionID: session.id, organizationID: session.organizationID)
    }

    /// Cancels the session's running turn and drops queued ones; false when nothing was running.
    public func cancelTurn(of session: Session) async throws -> Bool {
        try await runner.cancel(sessionID: session.id, organizationID: session.organizationID)
    }

    /// A user message: role `user`, at least one part, no tool parts, bounded text, object
    /// `controls`, trace-safe `metadata`, valid tags.
    static func validated(_ input: MessageInput) throws(ServiceError) -> Message {
        if let role = input.message.role, role != "user" {
            throw .invalid("message.role must be 'user' (got '\(role.prefix(40))')")
        }
        guard !input.message.content.isEmpty else {
            throw .invalid("message.content must contain at least one part")
        }
        for part in input.message.content {
            switch part {
            case .toolCall, .toolResult:
                throw .invalid("message.content: tool_call and tool_result parts cannot be sent as user input")
            case .text(let text) where text.utf8.count > InputLimits.systemPromptBytes:
                throw .invalid("message text exceeds \(InputLimits.systemPromptBytes) bytes", code: "input_too_large")
            default:
                continue
            }
        }
        if let controls = input.controls, controls.objectValue == nil {
            throw .invalid("controls must be an object")
        }
        try RunMetadata.validate(input.metadata)
        try InputRules.validateTags(input.tags)
        return Message(role: .user, content: input.message.content, controls: input.controls, metadata: input.metadata)
    }
}
