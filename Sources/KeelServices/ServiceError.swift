/// KeelServices — the rules behind the API's resources (agents, sessions, messages, events,
/// providers, the catalogue), independent of any wire protocol: the Everruns routes in KeelHTTP
/// call them today, and a later API (the Agent Protocol's assistants/threads/runs) calls the same
/// ones.
///
/// Services throw `ServiceError`; KeelHTTP's `APIError` is the one place that turns it into a
/// status and the error envelope.
public enum ServiceError: Error, Sendable, Hashable {
    /// The input breaks a rule. `code` says which kind (`invalid_request`, `invalid_id`,
    /// `input_too_large`, `unknown_capability`, `agent_archived`, `builtin_provider`,
    /// `base_url_not_allowed`, `invalid_cursor`); `message` is what the caller is told.
    case invalidInput(code: String, message: String)
    /// No `kind` (`agent`, `session`, `provider`, `harness`, `capability`, `model`) with this id or name.
    case notFound(kind: String, id: String)
    /// A model reference no active provider of the organization serves.
    case modelNotFound(reference: String)
    /// The change contradicts what is stored (an agent name taken by another id).
    case conflict(String)
    /// Request metadata breaks the trace-attribute rules (`RunMetadata`).
    case invalidMetadata(String)
    /// The session already has `limit` messages waiting for its running turn.
    case tooManyQueuedMessages(limit: Int)
    /// A provider key could not be sealed.
    case encryptionFailed

    /// `invalidInput` with the generic code.
    static func invalid(_ message: String, code: String = "invalid_request") -> ServiceError {
        .invalidInput(code: code, message: message)
    }
}
