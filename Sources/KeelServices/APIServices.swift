import KeelCore
import KeelEngine
import KeelSecrets

/// Every service over one store, turn runner and cipher: what an API (the Everruns routes, a
/// later Agent Protocol API) is built from.
public struct APIServices: Sendable {
    public let agents: AgentService
    public let sessions: SessionService
    public let messages: MessageService
    public let events: EventService
    public let providers: ProviderService
    public let catalog: CatalogService

    /// - Parameter decodeFailures: where the message view reports stored messages that do not
    ///   decode; nil logs them only (the server passes its counting reporter).
    public init(
        store: any KeelStore, runner: any TurnRunner, cipher: SecretsCipher, capabilities: CapabilityDirectory,
        decodeFailures: EventDecodeFailureReporter? = nil
    ) {
        let rules = RuntimeSettingsRules(capabilities: capabilities, models: runner.modelResolver)
        agents = AgentService(store: store, rules: rules)
        sessions = SessionService(store: store, runner: runner, rules: rules)
        messages = MessageService(runner: runner)
        events = EventService(
            store: store, decodeFailures: decodeFailures ?? .logging(label: "keel.events"))
        providers = ProviderService(store: store, cipher: cipher, configuration: runner.configuration)
        catalog = CatalogService(store: store, capabilities: capabilities)
    }
}
