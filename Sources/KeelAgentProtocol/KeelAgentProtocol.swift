/// # KeelAgentProtocol
///
/// The Agent Protocol (LangGraph Platform) view of Keel's one engine: an assistant is an agent,
/// a thread is a session, a run is (part of) a turn. Nothing here executes anything: runs are
/// submitted to the same `TurnRunner` as Everruns-style messages, their streams are projected
/// from the same event log, and the extra request fields live in `ProtocolRecord`s.
public enum KeelAgentProtocol {}
