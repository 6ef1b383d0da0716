import Foundation
import Hummingbird
import AsyncHTTPClient
import KeelAgentProtocol
import KeelAuth
import KeelCapabilities
import KeelCore
import KeelDurable
import KeelEngine
import KeelHTTP
import KeelLLM
import KeelObservability
import KeelSecrets
import KeelServices
import KeelStorage
import KeelWorker
import KeelWebhooks
import KeelWorkerRPC
import Logging
import ServiceLifecycle

/// KeelServer — reads the configuration, assembles store, engine, capabilities, drivers and the
/// HTTP API, and returns a runnable application. The `keel` executable and the integration tests
/// both start the server through `KeelServer.makeApplication`.
public enum KeelServer {
    /// Test and benchmark seams; production leaves them at their defaults.
    public struct Overrides: Sendable {
        public var driver: (@Sendable (ProviderType) -> any LLMDriver)?
        public var simLatency: Duration
        /// Replaces `OUTPUT_DELTA_BATCH_MS` when set.
        public var deltaBatchInterval: Duration?
        /// DEV_MODE session files, to be inspected by a test; nil gives the server its own.
        public var fileSystems: SessionFileSystems?

        public init(
            driver: (@Sendable (ProviderType) -> any LLMDriver)? = nil, simLatency: Duration = .zero,
            deltaBatchInterval: Duration? = nil, fileSystems: SessionFileSystems? = nil
        ) {
            self.driver = driver
            self.simLatency = simLatency
            self.deltaBatchInterval = deltaBatchInterval
            self.fileSystems = fileSystems
        }
    }

    public static func makeApplication(
        configuration: KeelConfiguration, logger: Logger, overrides: Overrides = Overrides()
    ) async throws -> some ApplicationProtocol {
        for warning in try configuration.startupCheck() { logger.warning("\(warning)") }
        logger.info("starting keel", metadata: configuration.redactedSummary.mapValues { .string($0) })
        let parts = try await assemble(configuration: configuration, logger: logger, overrides: overrides)
        let storage = parts.storage
        let sampler: [any Service] =
            if let metrics = parts.observability.metrics {
                [DurableMetricsSampler(
                    engine: parts.execution.control, metrics: metrics,
                    interval: .seconds(configuration.monitorSnapshotSecs), logger: logger
                ).waitingForDatabase(storage.ready)]
            } else { [] }

        prepareConnectionLimits(configuration, logger: logger)
        var application = Application(
            router: parts.api.makeRouter(),
            server: .keel(configuration.httpConnectionSettings, logger: logger),
            configuration: .init(address: .hostname(configuration.host, port: configuration.port), serverName: "keel"),
            // Stopped in reverse order: executors finish or hand back their steps, then traces drain
            // and flush, then the database pool closes.
            services: storage.services + parts.observability.services + parts.runCompletions
                + parts.execution.services.map { $0.waitingForDatabase(storage.ready) } + sampler,
            logger: logger)
        // No request is served before the schema and the seed data are in place. A SIGTERM while
        // waiting ends the wait; the listener then starts and stops at once.
        application.beforeServerStarts { [ready = storage.ready] in
            await cancelWhenGracefulShutdown { await ready.wait() }
        }
        return application
    }

    /// Every route the API serves, as `METHOD /path` with `{name}` captures: what the route-driven
    /// tests (the OpenAPI document check, the tenant isolation matrix) enumerate, so a new route
    /// cannot be forgotten by them. Builds the parts without starting them.
    public static func routeList(configuration: KeelConfiguration) async throws -> [String] {
        let parts = try await assemble(
            configuration: configuration, logger: Logger(label: "keel.routes", factory: { _ in SwiftLogNoOpLogHandler() }),
            overrides: Overrides())
        return parts.api.makeRouter().routes.map { "\($0.method.rawValue) \($0.path)" }
    }

    private struct Parts {
        var api: KeelAPI
        var storage: StorageAssembly
        var observability: Observability
        var execution: ExecutionAssembly
        /// Webhook delivery and the run-completion watcher of the Agent Protocol API.
        var runCompletions: [any Service]
    }

    private static func assemble(
        configuration: KeelConfiguration, logger: Logger, overrides: Overrides
    ) async throws -> Parts {
        let cipher = try configuration.makeSecretsCipher()
        let observability = Observability(settings: configuration.observability, logger: logger)
        let storage = try await StorageAssembly.make(configuration, observers: observability.eventObservers, logger: logger)
        let store = storage.store

        let catalog = CapabilityCatalog(
            allowExperimental: configuration.deploymentGrade.allowsExperimental,
            webFetch: WebFetchConfiguration(allowPrivateAddresses: configuration.webFetchAllowPrivateAddresses))
        catalog.logUnavailable(logger)

        let drivers = DriverRegistry(
            transport: .init(idleTimeout: .seconds(configuration.llmStreamIdleTimeoutSecs)),
            simLatency: overrides.simLatency)
        let driver = overrides.driver ?? { drivers.driver(for: $0) }
        let fileSystems = overrides.fileSystems ?? SessionFileSystems()
        let engineConfiguration = EngineConfiguration(
            defaultAPIKeys: configuration.defaultAPIKeys, baseURLs: configuration.baseURLs,
            maxIterations: configuration.maxIterations, toolTimeout: .seconds(configuration.toolTimeoutSecs),
            deltaBatchInterval: overrides.deltaBatchInterval ?? .milliseconds(configuration.outputDeltaBatchMs),
            maxQueuedMessagesPerSession: configuration.maxQueuedMessagesPerSession,
            baseURLPolicy: configuration.providerAddressPolicy, toolResultTimeout: .seconds(configuration.toolResultTimeoutSecs))
        let execution = ExecutionAssembly.make(
            configuration, storage: storage, engineConfiguration: engineConfiguration,
            runtime: StepRuntime(driver: driver, capabilities: { try catalog.resolve($0) }),
            fileSystems: fileSystems, cipher: cipher, observers: observability.eventObservers,
            decodeFailures: observability.decodeFailures, logger: logger)
        let engine = execution.runner

        let auth = try await AuthService(
            settings: configuration.auth, store: storage.authStore, logger: logger,
            provisionOrganization: { [store] organizationID in
                _ = try await BuiltInProviders.provision(organizationID: organizationID, in: store)
            })
        let services = APIServices(
            store: store, runner: engine, cipher: cipher,
            capabilities: CapabilityDirectory(all: { catalog.all }, resolve: { try catalog.resolve($0) }),
            decodeFailures: observability.decodeFailures)
        let webhooks = WebhookDispatcher(
            settings: WebhookSettings(
                signingSecret: configuration.webhookSigningSecret,
                allowPrivateAddresses: configuration.webFetchAllowPrivateAddresses),
            logger: logger)
        let completions = RunCompletions()
        let agentProtocol = AgentProtocolService(
            store: store, records: storage.records, runner: engine, services: services, completions: completions,
            webhookPolicy: { url in await webhooks.refusal(forWebhookURL: url) },
            failures: observability.decodeFailures, logger: logger)
        let completionService = RunCompletionService(
            protocolService: agentProtocol, completions: completions, logger: logger
        ) { url, runID, run in
            webhooks.enqueue(WebhookDelivery(url: url, body: run, id: runID))
        }
        let api = KeelAPI(
            services: services,
            auth: auth, oauthClient: OAuthClient(http: .shared),
            settings: APISettings(
                apiPrefix: configuration.apiPrefix, corsAllowedOrigins: configuration.corsAllowedOrigins,
                sse: SSESettings(
                    heartbeatInterval: .seconds(configuration.sseHeartbeatIntervalSecs),
                    realtimeCycle: .seconds(configuration.sseRealtimeCycleSecs), globalMax: configuration.sseGlobalMax,
                    perSessionMax: configuration.ssePerSessionMax, perOrganizationMax: configuration.ssePerOrgMax,
                    replayPageSize: configuration.sseReplayPageEvents,
                    monitoringCycle: .seconds(configuration.sseMonitoringCycleSecs)),
                deploymentGrade: configuration.deploymentGrade.rawValue, storageKind: storage.kind,
                monitorSnapshotInterval: .seconds(configuration.monitorSnapshotSecs)),
            metrics: observability.metrics, agentProtocol: agentProtocol, engine: execution.control)

        return Parts(
            api: api, storage: storage, observability: observability, execution: execution,
            runCompletions: [webhooks, completionService])
    }
}

extension KeelConfiguration {
    var defaultAPIKeys: [ProviderType: String] {
        var keys: [ProviderType: String] = [:]
        keys[.openai] = defaultOpenAIAPIKey
        keys[.anthropic] = defaultAnthropicAPIKey
        keys[.gemini] = defaultGeminiAPIKey
        return keys
    }

    /// `web_fetch`'s address policy for providers' own `base_url`s, unless the operator allows
    /// private addresses (then only the http(s) form, checked by the API, applies).
    var providerAddressPolicy: ProviderAddressPolicy {
        llmAllowPrivateBaseURLs
            ? .unrestricted
            : ProviderAddressPolicy { url in try await FetchTargetPolicy(allowPrivateAddresses: false).check(url: url) }
    }

    var baseURLs: [ProviderType: String] {
        var urls: [ProviderType: String] = [:]
        urls[.openai] = openAIBaseURL
        urls[.anthropic] = anthropicBaseURL
        urls[.gemini] = geminiBaseURL
        return urls
    }
}
