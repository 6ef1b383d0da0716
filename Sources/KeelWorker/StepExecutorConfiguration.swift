import Foundation
import KeelCore

/// KeelWorker — runs turn steps. A `StepExecutor` claims steps through a `StepChannel` (the control
/// plane in-process, or over gRPC in `keel worker`), runs each with the agent loop, heartbeats it,
/// and completes, fails or hands it back. It holds no database credentials and no encryption key.
public struct StepExecutorConfiguration: Sendable {
    public var workerID: String
    /// Steps run at the same time.
    public var concurrency: Int
    /// How often a running step tells the control plane it is alive.
    public var heartbeatInterval: Duration
    /// Claims are attempted at least this often even without a wake-up (a safety net for lost
    /// notifications).
    public var pollInterval: Duration
    /// On shutdown, running steps get this long to finish before they are handed back.
    public var shutdownGrace: Duration
    /// Where the worker runs, as the operations API shows it.
    public var address: String
    /// The worker's deployment grade, as the operations API shows it.
    public var grade: String

    public init(
        workerID: String = StepExecutorConfiguration.makeWorkerID(), concurrency: Int = 10,
        heartbeatInterval: Duration = .seconds(10), pollInterval: Duration = .seconds(5),
        shutdownGrace: Duration = .seconds(10), address: String = StepExecutorConfiguration.processAddress(),
        grade: String = "prod"
    ) {
        self.address = address
        self.grade = grade
        self.workerID = workerID
        self.concurrency = max(1, concurrency)
        self.heartbeatInterval = heartbeatInterval
        self.pollInterval = pollInterval
        self.shutdownGrace = shutdownGrace
    }

    /// `host:pid` of this process.
    public static func processAddress(prefix: String = "") -> String {
        let host = ProcessInfo.processInfo.hostName.split(separator: ".").first.map(String.init) ?? "host"
        return "\(prefix)\(host):\(ProcessInfo.processInfo.processIdentifier)"
    }

    public static func makeWorkerID(prefix: String = "worker") -> String {
        let host = ProcessInfo.processInfo.hostName.split(separator: ".").first.map(String.init) ?? "host"
        return "\(prefix)-\(host)-\(ProcessInfo.processInfo.processIdentifier)-\(UUID().uuidString.prefix(8).lowercased())"
    }
}

/// What an executor needs to turn a `TurnSpec` into a runnable turn: drivers and capabilities.
public struct StepRuntime: Sendable {
    public var driver: @Sendable (ProviderType) -> any LLMDriver
    public var capabilities: @Sendable ([String]) throws -> [Capability]

    public init(
        driver: @escaping @Sendable (ProviderType) -> any LLMDriver,
        capabilities: @escaping @Sendable ([String]) throws -> [Capability]
    ) {
        self.driver = driver
        self.capabilities = capabilities
    }
}
