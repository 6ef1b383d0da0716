/// KeelCore — the domain of the Keel agent runtime and its agentic loop.
///
/// This module owns the vocabulary every other module speaks: identifiers, agents, sessions,
/// messages, events, LLM and tool protocols, the storage protocol and the turn loop itself.
/// It performs no I/O: drivers, stores and tools are injected through the protocols declared here,
/// so the loop can be tested with scripted drivers and run unchanged in-process or in a worker.
public enum KeelCore {
    public static let version = "0.1.0"
}
