import Foundation
import KeelCore

/// What `keel worker` reads from its environment. A worker has no database URL and no encryption
/// key: everything reaches it over gRPC from the control plane, provider keys included.
public struct WorkerConfiguration: Sendable {
    public var devMode: Bool
    public var deploymentGrade: DeploymentGrade
    /// `WORKER_GRPC_ADDRESS`: the control plane's worker listener; default `127.0.0.1:9001`.
    public var serverAddress: HostAndPort
    /// `WORKER_GRPC_AUTH_TOKEN`: required unless DEV_MODE=true.
    public var authToken: String?
    /// `WORKER_GRPC_TLS_CA_FILE`: PEM trust roots; when set the worker connects with TLS and
    /// verifies the server's certificate against them.
    public var tlsCAFile: String?
    /// `WORKER_GRPC_TLS_SERVER_NAME`: the name the server's certificate is checked against (and
    /// sent as SNI) instead of the host of `WORKER_GRPC_ADDRESS`.
    public var tlsServerName: String?
    /// `WORKER_GRPC_CONNECT_TIMEOUT`: seconds to wait for the control plane at start; default 30.
    public var connectTimeoutSecs: Double
    /// `MAX_CONCURRENT_TASKS`: steps run at once; default 10.
    public var maxConcurrentTasks: Int
    /// `WORKER_ID`: default `worker-<host>-<pid>-<random>`.
    public var workerID: String?
    /// `WORKER_HEARTBEAT_INTERVAL_SECS`: default 10 (keep it well under the server's stale threshold).
    public var heartbeatIntervalSecs: Double
    /// `WORKER_SHUTDOWN_GRACE_SECS`: on SIGTERM, running steps get this long before being handed back; default 10.
    public var shutdownGraceSecs: Double
    public var webFetchAllowPrivateAddresses: Bool
    /// `LLM_STREAM_IDLE_TIMEOUT_SECS`: as on the server (the worker makes the provider calls); default 120.
    public var llmStreamIdleTimeoutSecs: Double
    public var logFormat: KeelConfiguration.LogFormat
    public var logLevel: KeelConfiguration.LogLevel

    public init(environment: [String: String]) throws(ConfigurationError) {
        let env = EnvironmentReader(environment: environment)
        devMode = try env.bool("DEV_MODE", default: false)
        deploymentGrade = try env.choice("DEPLOYMENT_GRADE", default: devMode ? DeploymentGrade.dev : .prod)
        serverAddress = try HostAndPort.parse(
            "WORKER_GRPC_ADDRESS", env.value("WORKER_GRPC_ADDRESS") ?? "127.0.0.1:9001")
        authToken = env.value("WORKER_GRPC_AUTH_TOKEN")
        tlsCAFile = env.value("WORKER_GRPC_TLS_CA_FILE")
        tlsServerName = env.value("WORKER_GRPC_TLS_SERVER_NAME")
        if tlsServerName != nil && tlsCAFile == nil {
            throw ConfigurationError(
                variable: "WORKER_GRPC_TLS_SERVER_NAME", message: "only applies with WORKER_GRPC_TLS_CA_FILE (TLS)")
        }
        connectTimeoutSecs = try env.positiveSeconds("WORKER_GRPC_CONNECT_TIMEOUT", default: 30)
        maxConcurrentTasks = try env.positiveInt("MAX_CONCURRENT_TASKS", default: 10)
        workerID = env.value("WORKER_ID")
        heartbeatIntervalSecs = try env.positiveSeconds("WORKER_HEARTBEAT_INTERVAL_SECS", default: 10)
        shutdownGraceSecs = try env.positiveSeconds("WORKER_SHUTDOWN_GRACE_SECS", default: 10)
        webFetchAllowPrivateAddresses = try env.bool("WEB_FETCH_ALLOW_PRIVATE_ADDRESSES", default: false)
        llmStreamIdleTimeoutSecs = try env.positiveSeconds("LLM_STREAM_IDLE_TIMEOUT_SECS", default: 120)
        logFormat = try env.choice("LOG_FORMAT", default: devMode ? KeelConfiguration.LogFormat.text : .json)
        logLevel = try env.choice("LOG_LEVEL", default: KeelConfiguration.LogLevel.info)
        if !devMode && authToken == nil {
            throw ConfigurationError(
                variable: "WORKER_GRPC_AUTH_TOKEN",
                message: "must be set unless DEV_MODE=true (the same secret as the server's)")
        }
    }
}
