/// What the Agent Protocol services refuse, mapped to HTTP statuses in KeelHTTP's `APIError`.
public enum AgentProtocolError: Error, Sendable, Hashable {
    /// A request field breaks a rule: 422, the message names the field.
    case invalid(String)
    /// 404 `<kind>_not_found`.
    case notFound(kind: String, id: String)
    /// 409: an id already taken, a busy thread under `multitask_strategy: reject`, a run still running.
    case conflict(String)
    /// 400: the request is well-formed but cannot apply now (a resume on a thread not interrupted).
    case badRequest(String)
}
