import Foundation
import KeelCapabilities
import KeelCore
import KeelLLM
import KeelWorker
import KeelWorkerRPC
import Logging
import ServiceLifecycle

/// `keel worker`: connects to the control plane over gRPC (waiting up to the connect timeout for
/// it to come up; the client reconnects by itself if the control plane goes away later), then
/// claims and runs steps until SIGTERM/SIGINT. On shutdown it stops claiming, lets running steps
/// finish within the grace period and hands back the rest. A signal during the connect wait
/// stops the worker at once.
public enum KeelWorkerProcess {
    public static func run(configuration: WorkerConfiguration, logger: Logger) async throws {
        let group = ServiceGroup(
            configuration: ServiceGroupConfiguration(
                services: [WorkerService(configuration: configuration, logger: logger)],
                gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        try await group.run()
    }
}

/// The worker as one service: the gRPC connection and, inside it, the step executor.
struct WorkerService: Service {
    let configuration: WorkerConfiguration
    let logger: Logger

    func run() async throws {
        let catalog = CapabilityCatalog(
            allowExperimental: configuration.deploymentGrade.allowsExperimental,
            webFetch: WebFetchConfiguration(allowPrivateAddresses: configuration.webFetchAllowPrivateAddresses))
        catalog.logUnavailable(logger)
        let drivers = DriverRegistry(transport: .init(idleTimeout: .seconds(configuration.llmStreamIdleTimeoutSecs)))
        let executorConfiguration = StepExecutorConfiguration(
            workerID: configuration.workerID ?? StepExecutorConfiguration.makeWorkerID(),
            concurrency: configuration.maxConcurrentTasks,
            heartbeatInterval: .seconds(configuration.heartbeatIntervalSecs),
            shutdownGrace: .seconds(configuration.shutdownGraceSecs), grade: configuration.deploymentGrade.rawValue)
        let address = configuration.serverAddress
        let timeout = Duration.seconds(configuration.connectTimeoutSecs)
        try await GRPCStepChannel.withConnection(
            host: address.host, port: address.port, authToken: configuration.authToken,
            tls: configuration.tlsCAFile.map { WorkerRPCTLS.Client(trustRootsFile: $0, serverName: configuration.tlsServerName) },
            connectTimeout: .zero, logger: logger
        ) { channel in
            do {
                try await cancelWhenGracefulShutdown { try await channel.waitUntilConnected(timeout: timeout) }
            } catch is CancellationError {
                logger.info("worker stopped before the control plane answered")
                return
            }
            logger.info(
                "worker connected",
                metadata: ["worker_id": "\(executorConfiguration.workerID)", "server": "\(address)",
                           "max_concurrent_tasks": "\(executorConfiguration.concurrency)"])
            let executor = StepExecutor(
                channel: channel, configuration: executorConfiguration,
                runtime: StepRuntime(driver: { drivers.driver(for: $0) }, capabilities: { try catalog.resolve($0) }),
                logger: logger)
            try await executor.run()
            logger.info("worker stopped", metadata: ["worker_id": "\(executorConfiguration.workerID)"])
        }
    }
}
