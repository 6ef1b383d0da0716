import Foundation
import KeelCapabilities
import KeelCore
import KeelDurable
import KeelEngine
import KeelSecrets
import KeelStorage
import KeelWorker
import KeelWorkerRPC
import Logging
import ServiceLifecycle

/// Who runs turns: one engine, `TurnControl`, over the configuration's turn store — PostgreSQL
/// outside DEV_MODE, memory in DEV_MODE — with embedded step executors. Outside DEV_MODE,
/// `DURABLE_EMBEDDED_EXECUTORS` steps run in-process and the worker gRPC listener on
/// `WORKER_GRPC_ADDR` serves `keel worker` processes; DEV_MODE has no workers, so its embedded
/// executor runs up to `devModeStepConcurrency` steps at once (one per active session, like a
/// process that runs every session's turn at the same time).
struct ExecutionAssembly {
    var runner: any TurnRunner { control }
    /// The engine, also behind the operations API.
    var control: TurnControl
    /// In start order (stopped in reverse).
    var services: [any Service]

    /// Steps DEV_MODE runs at once: far above any session count a development server sees, so a
    /// session's turn never waits for another session's.
    static let devModeStepConcurrency = 1024

    static func make(
        _ configuration: KeelConfiguration, storage: StorageAssembly, engineConfiguration: EngineConfiguration,
        runtime: StepRuntime, fileSystems: SessionFileSystems, cipher: SecretsCipher, observers: [any EventObserver],
        decodeFailures: EventDecodeFailureReporter, logger: Logger
    ) -> ExecutionAssembly {
        let planner = TurnPlanner(
            store: storage.store, configuration: engineConfiguration, capabilities: runtime.capabilities, cipher: cipher,
            logger: logger)
        let turnStore: any TurnStore
        if let postgres = storage.postgres {
            // Session files live in PostgreSQL (`session_files`), so they survive restarts and every
            // instance sees the same ones; deleting a session deletes them (ON DELETE CASCADE).
            let fileLimits = fileSystems.limits
            turnStore = PostgresTurnStore(
                store: postgres, observers: observers,
                files: { PostgresSessionFileSystem(store: postgres, sessionID: $0, limits: fileLimits, logger: logger) },
                logger: logger)
        } else {
            // The turn store publishes its events to the observers itself after each commit, so it
            // appends to the unobserved store.
            let log = (storage.store as? ObservedStore)?.base ?? storage.store
            turnStore = InMemoryTurnStore(
                log: log, observers: observers, fileSystem: { fileSystems.fileSystem(for: $0) },
                removeFileSystem: { fileSystems.remove(sessionID: $0) })
        }
        // Outside DEV_MODE the breakers live in PostgreSQL so every instance agrees, and the
        // operations log records their changes.
        let operations: (any OperationsStore)? = storage.postgres.map { PostgresOperationsStore(store: $0, logger: logger) }
        let breakerStore: any CircuitBreakerStore =
            if let postgres = storage.postgres { PostgresCircuitBreakerStore(store: postgres, logger: logger) }
            else { InMemoryCircuitBreakerStore() }
        let breakers = ProviderCircuitBreakers(
            store: breakerStore, policy: configuration.circuitBreaker, logger: logger
        ) { state, previous in
            try? await operations?.appendEvent(
                type: state.state.operationsEventType, organizationID: state.organizationID,
                data: ["key": .string(state.key), "from": .string(previous.rawValue),
                       "consecutive_failures": .number(Double(state.consecutiveFailures))])
        }
        let control = TurnControl(
            store: turnStore, planner: planner, policy: configuration.durableConfiguration,
            decodeFailures: decodeFailures, operations: operations,
            breakers: configuration.circuitBreaker.enabled ? breakers : nil, logger: logger)
        var services: [any Service] = [control]
        let concurrency =
            storage.postgres == nil ? max(configuration.embeddedExecutors, devModeStepConcurrency)
            : configuration.embeddedExecutors
        if concurrency > 0 {
            services.append(
                StepExecutor(
                    channel: control,
                    configuration: StepExecutorConfiguration(
                        workerID: StepExecutorConfiguration.makeWorkerID(prefix: "embedded"),
                        concurrency: concurrency, heartbeatInterval: configuration.embeddedHeartbeatInterval,
                        shutdownGrace: .seconds(configuration.shutdownGraceSecs),
                        address: StepExecutorConfiguration.processAddress(prefix: "embedded@"),
                        grade: configuration.deploymentGrade.rawValue),
                    runtime: runtime, logger: logger))
        }
        if let postgres = storage.postgres {
            services.append(RetentionSweeper(store: postgres, policy: configuration.retention, logger: logger))
            services.append(
                WorkerRPCServer(
                    channel: control, host: configuration.workerGRPCBind.host, port: configuration.workerGRPCBind.port,
                    authToken: configuration.workerGRPCAuthToken, tls: configuration.workerGRPCTLS, logger: logger))
        }
        return ExecutionAssembly(control: control, services: services)
    }
}

extension KeelConfiguration {
    /// The worker listener's TLS settings, when both files are configured.
    var workerGRPCTLS: WorkerRPCTLS.Server? {
        guard let workerGRPCTLSCertFile, let workerGRPCTLSKeyFile else { return nil }
        return WorkerRPCTLS.Server(certificateChainFile: workerGRPCTLSCertFile, privateKeyFile: workerGRPCTLSKeyFile)
    }

    var durableConfiguration: DurableConfiguration {
        DurableConfiguration(
            staleThreshold: .seconds(staleTaskThresholdSecs), reclaimInterval: .seconds(reclaimIntervalSecs),
            noProgressSealThreshold: noProgressSealThreshold, maxAttempts: stepMaxAttempts, reclaimEnabled: !devMode)
    }

    /// At most a third of the stale threshold, so one late heartbeat never costs a step.
    var embeddedHeartbeatInterval: Duration {
        .seconds(min(heartbeatIntervalSecs, staleTaskThresholdSecs / 3))
    }
}
