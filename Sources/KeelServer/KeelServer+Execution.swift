import Foundation
import KeelCapabilities
import KeelCore
import KeelDurable
import KeelEngine
import KeelSecrets
import KeelWorker
import KeelWorkerRPC
import Logging
import ServiceLifecycle

/// Who runs turns. DEV_MODE: the in-process `TurnEngine`. Otherwise: `DurableTurns` on PostgreSQL,
/// with `DURABLE_EMBEDDED_EXECUTORS` in-process executors and the worker gRPC listener on
/// `WORKER_GRPC_ADDR` for `keel worker` processes.
struct ExecutionAssembly {
    var runner: any TurnRunner
    /// In start order (stopped in reverse).
    var services: [any Service]

    static func make(
        _ configuration: KeelConfiguration, storage: StorageAssembly, engineConfiguration: EngineConfiguration,
        runtime: StepRuntime, fileSystems: SessionFileSystems, cipher: SecretsCipher, observers: [any EventObserver],
        logger: Logger
    ) -> ExecutionAssembly {
        guard let postgres = storage.postgres else {
            let engine = TurnEngine(
                store: storage.store, configuration: engineConfiguration,
                dependencies: EngineDependencies(
                    driver: runtime.driver, capabilities: runtime.capabilities,
                    fileSystem: { fileSystems.fileSystem(for: $0) },
                    removeFileSystem: { fileSystems.remove(sessionID: $0) }),
                cipher: cipher, logger: logger)
            return ExecutionAssembly(runner: engine, services: [engine])
        }
        let planner = TurnPlanner(
            store: storage.store, configuration: engineConfiguration, capabilities: runtime.capabilities, cipher: cipher,
            logger: logger)
        // Session files live in PostgreSQL (`session_files`), so they survive restarts and every
        // instance sees the same ones; deleting a session deletes them (ON DELETE CASCADE).
        let fileLimits = fileSystems.limits
        let durable = DurableTurns(
            store: postgres, planner: planner, durable: configuration.durableConfiguration,
            files: { PostgresSessionFileSystem(store: postgres, sessionID: $0, limits: fileLimits, logger: logger) },
            observers: observers, logger: logger)
        var services: [any Service] = [durable]
        if configuration.embeddedExecutors > 0 {
            services.append(
                StepExecutor(
                    channel: durable,
                    configuration: StepExecutorConfiguration(
                        workerID: StepExecutorConfiguration.makeWorkerID(prefix: "embedded"),
                        concurrency: configuration.embeddedExecutors,
                        heartbeatInterval: configuration.embeddedHeartbeatInterval,
                        shutdownGrace: .seconds(configuration.shutdownGraceSecs)),
                    runtime: runtime, logger: logger))
        }
        services.append(
            WorkerRPCServer(
                channel: durable, host: configuration.workerGRPCBind.host, port: configuration.workerGRPCBind.port,
                authToken: configuration.workerGRPCAuthToken, tls: configuration.workerGRPCTLS, logger: logger))
        return ExecutionAssembly(runner: durable, services: services)
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
