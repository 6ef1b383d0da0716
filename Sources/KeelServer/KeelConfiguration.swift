import KeelAuth
import KeelCore
import KeelEngine
import KeelObservability
import KeelSecrets

/// Everything the server reads from its environment, parsed and validated once at startup.
///
/// Built from a plain dictionary so tests can pass exactly the variables they care about;
/// production passes `ProcessInfo.processInfo.environment`. Names and defaults follow the Everruns
/// environment-variable contract, so existing deployment files keep working. Any malformed value
/// is a `ConfigurationError` naming the variable: failing fast beats running with a silently
/// ignored setting.
public struct KeelConfiguration: Sendable {
    // MARK: Mode

    /// `DEV_MODE`: in-memory storage, no PostgreSQL; default false.
    public var devMode: Bool
    /// `DEPLOYMENT_GRADE`: default `prod`, or `dev` when `DEV_MODE` is on.
    public var deploymentGrade: DeploymentGrade

    // MARK: HTTP

    /// `HOST`: bind address; default `0.0.0.0`, or `127.0.0.1` in DEV_MODE (a laptop server should
    /// not be reachable from the network unless asked).
    public var host: String
    /// `PORT`: default 9000; 0 binds an ephemeral port.
    public var port: Int
    /// `API_PREFIX`: normalised path prefix for API routes, `""` when none.
    public var apiPrefix: String
    /// `CORS_ALLOWED_ORIGINS`: allowed browser origins; empty means CORS is off.
    public var corsAllowedOrigins: [String]
    /// `HTTP_HEADER_TIMEOUT_SECS`: a request head must be complete this long after a connection
    /// opens (or a next request starts), else the connection is closed; default 10.
    public var httpHeaderTimeoutSecs: Double
    /// `HTTP_IDLE_TIMEOUT_SECS`: a keep-alive connection with no request in flight is closed after
    /// this long (never during a response, so SSE streams are unaffected); default 60.
    public var httpIdleTimeoutSecs: Double
    /// `HTTP_MAX_CONNECTIONS`: open HTTP connections at most (one more gets a 503 and is closed);
    /// default 12000, above `SSE_GLOBAL_MAX`'s 10000.
    public var httpMaxConnections: Int

    // MARK: Storage and secrets

    /// `DATABASE_URL`: PostgreSQL connection string; nil when unset.
    public var databaseURL: String?
    /// `DATABASE_MAX_CONNECTIONS`: the PostgreSQL pool size per instance (default 20).
    public var databaseMaxConnections: Int
    /// `SECRETS_ENCRYPTION_KEY`: the key new provider-key envelopes are written under.
    public var secretsEncryptionKey: KeyEncryptionKey?
    /// `SECRETS_ENCRYPTION_KEY_PREVIOUS`: the key being rotated out, accepted for decryption only.
    public var secretsEncryptionKeyPrevious: KeyEncryptionKey?

    // MARK: LLM providers

    /// `DEFAULT_OPENAI_API_KEY`: fallback when a provider has no stored key.
    public var defaultOpenAIAPIKey: String?
    /// `DEFAULT_ANTHROPIC_API_KEY`: fallback when a provider has no stored key.
    public var defaultAnthropicAPIKey: String?
    /// `DEFAULT_GEMINI_API_KEY`: fallback when a provider has no stored key.
    public var defaultGeminiAPIKey: String?
    /// `OPENAI_BASE_URL`: overrides the OpenAI endpoint (proxies, compatible servers, tests).
    public var openAIBaseURL: String?
    /// `ANTHROPIC_BASE_URL`: overrides the Anthropic endpoint.
    public var anthropicBaseURL: String?
    /// `GEMINI_BASE_URL`: overrides the Gemini endpoint.
    public var geminiBaseURL: String?
    /// `LLM_ALLOW_PRIVATE_BASE_URLS`: lets providers created through the API use a `base_url` on a
    /// private, loopback or special-purpose address; default false (the `*_BASE_URL` values are the
    /// operator's and always allowed).
    public var llmAllowPrivateBaseURLs: Bool

    // MARK: SSE

    /// `SSE_REALTIME_CYCLE_SECS`: session event streams are closed after this long so clients
    /// reconnect through proxies; default 300.
    public var sseRealtimeCycleSecs: Double
    /// `SSE_HEARTBEAT_INTERVAL_SECS`: heartbeat comment interval; default 30 (must stay below the
    /// SDK read timeout of 60 s).
    public var sseHeartbeatIntervalSecs: Double
    /// `SSE_GLOBAL_MAX`: total concurrent SSE connections; default 10000.
    public var sseGlobalMax: Int
    /// `SSE_PER_SESSION_MAX`: concurrent SSE connections per session; default 5.
    public var ssePerSessionMax: Int
    /// `SSE_PER_ORG_MAX`: concurrent SSE connections per organisation; default 1000.
    public var ssePerOrgMax: Int
    /// `SSE_REPLAY_PAGE_EVENTS`: events read and written per page when a stream replays history;
    /// default 500.
    public var sseReplayPageEvents: Int

    // MARK: Execution

    /// `WEB_FETCH_ALLOW_PRIVATE_ADDRESSES`: lets the web-fetch tool reach private and loopback
    /// addresses; default false to prevent SSRF.
    public var webFetchAllowPrivateAddresses: Bool
    /// `TOOL_TIMEOUT_SECS`: per tool call; default 60.
    public var toolTimeoutSecs: Double
    /// `MAX_ITERATIONS`: reason/act iterations per turn; default 100.
    public var maxIterations: Int
    /// `MEMORY_STORE_MAX_MB`: in DEV_MODE, the events kept in memory are capped at about this many
    /// MiB; past it a new message is refused (507 `storage_full`). 1–1,048,576, default 512.
    public var memoryStoreMaxMB: Int
    /// `OUTPUT_DELTA_BATCH_MS`: streamed text is coalesced into at most one `output.message.delta`
    /// per this many milliseconds (Everruns batches about 100 ms); 0 gives every provider chunk its
    /// own event. 0–10,000, default 100.
    public var outputDeltaBatchMs: Int
    /// `MAX_QUEUED_MESSAGES_PER_SESSION`: messages that may wait behind a session's running turn;
    /// default 100 (one more answers 429).
    public var maxQueuedMessagesPerSession: Int
    /// `TOOL_RESULT_TIMEOUT_SECS`: how long a turn waits for client-side tool results.
    public var toolResultTimeoutSecs: Double
    /// `WEBHOOK_SIGNING_SECRET`: signs Agent Protocol run webhooks with HMAC-SHA256 (unsigned when unset).
    public var webhookSigningSecret: String?
    /// `LLM_STREAM_IDLE_TIMEOUT_SECS`: longest silence between two chunks of a provider's stream
    /// before the call fails with a timeout; default 120.
    public var llmStreamIdleTimeoutSecs: Double

    // MARK: Durable execution (outside DEV_MODE)

    /// `WORKER_GRPC_ADDR`: where the worker gRPC listener binds; default `127.0.0.1:9001` (the
    /// contract's default is `0.0.0.0:9001`; remote workers need the operator to choose the address).
    public var workerGRPCBind: HostAndPort
    /// `WORKER_GRPC_TLS_CERT_FILE`, `WORKER_GRPC_TLS_KEY_FILE`: PEM certificate chain and private key;
    /// set both for a TLS-only worker listener (step contexts carry decrypted provider keys).
    public var workerGRPCTLSCertFile: String?
    public var workerGRPCTLSKeyFile: String?
    /// `WORKER_GRPC_AUTH_TOKEN`: bearer token workers must present; required outside DEV_MODE.
    public var workerGRPCAuthToken: String?
    /// `DURABLE_EMBEDDED_EXECUTORS`: steps the server runs in-process at once; default 4, 0 = workers only.
    public var embeddedExecutors: Int
    /// `DURABLE_STALE_TASK_THRESHOLD_SECS`: a step without a heartbeat for this long is reclaimed; default 30.
    public var staleTaskThresholdSecs: Double
    /// `DURABLE_RECLAIM_INTERVAL_SECS`: how often stale steps are looked for; default 10.
    public var reclaimIntervalSecs: Double
    /// `DURABLE_NO_PROGRESS_SEAL_THRESHOLD`: reclamations in a row without progress that end a turn; default 3.
    public var noProgressSealThreshold: Int
    /// `DURABLE_MAX_ATTEMPTS`: attempts per step before it is dead-lettered; default 5.
    public var stepMaxAttempts: Int
    /// `WORKER_HEARTBEAT_INTERVAL_SECS`: heartbeat of embedded executors; default 10.
    public var heartbeatIntervalSecs: Double
    /// `WORKER_SHUTDOWN_GRACE_SECS`: on SIGTERM, embedded executors' running steps get this long; default 10.
    public var shutdownGraceSecs: Double
    /// `SSE_MONITORING_CYCLE_SECS`: a durable monitoring stream cycles after this long; default 600.
    public var sseMonitoringCycleSecs: Double
    /// `DURABLE_MONITOR_SNAPSHOT_SECS`: a monitoring stream's snapshot interval; default 5.
    public var monitorSnapshotSecs: Double
    /// `CIRCUIT_BREAKER_*`: the providers' circuit breakers.
    public var circuitBreaker: CircuitBreakerPolicy
    /// `SESSION_TTL_DAYS` / `EVENT_RETENTION_DAYS` and the sweep's pace; off by default.
    public var retention: RetentionPolicy

    // MARK: Logging

    /// `LOG_FORMAT`: default `json`, or `text` in DEV_MODE.
    public var logFormat: LogFormat
    /// `LOG_LEVEL`: default `info`.
    public var logLevel: LogLevel

    // MARK: Observability

    /// Traces, Braintrust and Prometheus (see `ObservabilitySettings`).
    public var observability: ObservabilitySettings
    /// `AUTH_*`: the mode, the administrator account, token lifetimes, rate limits, OAuth providers.
    public var auth: AuthSettings

    /// Parses and validates the environment.
    public init(environment: [String: String]) throws(ConfigurationError) {
        let env = EnvironmentReader(environment: environment)

        devMode = try env.bool("DEV_MODE", default: false)
        deploymentGrade = try env.choice("DEPLOYMENT_GRADE", default: devMode ? DeploymentGrade.dev : .prod)

        host = env.string("HOST", default: devMode ? "127.0.0.1" : "0.0.0.0")
        port = try Self.parsePort(env.value("PORT"))
        apiPrefix = try Self.parseAPIPrefix(env.value("API_PREFIX"))
        corsAllowedOrigins = try Self.parseCORSOrigins(env.value("CORS_ALLOWED_ORIGINS"))
        httpHeaderTimeoutSecs = try env.positiveSeconds("HTTP_HEADER_TIMEOUT_SECS", default: 10)
        httpIdleTimeoutSecs = try env.positiveSeconds("HTTP_IDLE_TIMEOUT_SECS", default: 60)
        httpMaxConnections = try env.positiveInt("HTTP_MAX_CONNECTIONS", default: 12_000)

        databaseURL = env.value("DATABASE_URL")
        databaseMaxConnections = try env.positiveInt("DATABASE_MAX_CONNECTIONS", default: 20)
        secretsEncryptionKey = try Self.parseKey("SECRETS_ENCRYPTION_KEY", env.value("SECRETS_ENCRYPTION_KEY"))
        secretsEncryptionKeyPrevious = try Self.parseKey(
            "SECRETS_ENCRYPTION_KEY_PREVIOUS", env.value("SECRETS_ENCRYPTION_KEY_PREVIOUS")
        )

        defaultOpenAIAPIKey = env.value("DEFAULT_OPENAI_API_KEY")
        defaultAnthropicAPIKey = env.value("DEFAULT_ANTHROPIC_API_KEY")
        defaultGeminiAPIKey = env.value("DEFAULT_GEMINI_API_KEY")
        openAIBaseURL = try Self.parseBaseURL("OPENAI_BASE_URL", env.value("OPENAI_BASE_URL"))
        anthropicBaseURL = try Self.parseBaseURL("ANTHROPIC_BASE_URL", env.value("ANTHROPIC_BASE_URL"))
        geminiBaseURL = try Self.parseBaseURL("GEMINI_BASE_URL", env.value("GEMINI_BASE_URL"))
        llmAllowPrivateBaseURLs = try env.bool("LLM_ALLOW_PRIVATE_BASE_URLS", default: false)

        sseRealtimeCycleSecs = try env.positiveSeconds("SSE_REALTIME_CYCLE_SECS", default: 300)
        sseHeartbeatIntervalSecs = try env.positiveSeconds("SSE_HEARTBEAT_INTERVAL_SECS", default: 30)
        sseGlobalMax = try env.positiveInt("SSE_GLOBAL_MAX", default: 10_000)
        ssePerSessionMax = try env.positiveInt("SSE_PER_SESSION_MAX", default: 5)
        ssePerOrgMax = try env.positiveInt("SSE_PER_ORG_MAX", default: 1_000)
        sseReplayPageEvents = try env.positiveInt("SSE_REPLAY_PAGE_EVENTS", default: 500)

        webFetchAllowPrivateAddresses = try env.bool("WEB_FETCH_ALLOW_PRIVATE_ADDRESSES", default: false)
        toolTimeoutSecs = try env.positiveSeconds("TOOL_TIMEOUT_SECS", default: 60)
        maxIterations = try env.positiveInt("MAX_ITERATIONS", default: 100)
        memoryStoreMaxMB = try env.int("MEMORY_STORE_MAX_MB", minimum: 1, maximum: 1 << 20) ?? 512
        outputDeltaBatchMs = try env.int("OUTPUT_DELTA_BATCH_MS", minimum: 0, maximum: 10_000) ?? 100
        maxQueuedMessagesPerSession = try env.positiveInt("MAX_QUEUED_MESSAGES_PER_SESSION", default: 100)
        toolResultTimeoutSecs = try env.positiveSeconds("TOOL_RESULT_TIMEOUT_SECS", default: 300)
        llmStreamIdleTimeoutSecs = try env.positiveSeconds("LLM_STREAM_IDLE_TIMEOUT_SECS", default: 120)
        webhookSigningSecret = env.value("WEBHOOK_SIGNING_SECRET").flatMap { $0.isEmpty ? nil : $0 }

        workerGRPCBind = try HostAndPort.parse("WORKER_GRPC_ADDR", env.value("WORKER_GRPC_ADDR") ?? "127.0.0.1:9001")
        workerGRPCTLSCertFile = env.value("WORKER_GRPC_TLS_CERT_FILE")
        workerGRPCTLSKeyFile = env.value("WORKER_GRPC_TLS_KEY_FILE")
        if (workerGRPCTLSCertFile == nil) != (workerGRPCTLSKeyFile == nil) {
            throw ConfigurationError(
                variable: workerGRPCTLSCertFile == nil ? "WORKER_GRPC_TLS_CERT_FILE" : "WORKER_GRPC_TLS_KEY_FILE",
                message: "WORKER_GRPC_TLS_CERT_FILE and WORKER_GRPC_TLS_KEY_FILE must be set together")
        }
        workerGRPCAuthToken = env.value("WORKER_GRPC_AUTH_TOKEN")
        embeddedExecutors = try env.nonNegativeInt("DURABLE_EMBEDDED_EXECUTORS", default: 4)
        staleTaskThresholdSecs = try env.positiveSeconds("DURABLE_STALE_TASK_THRESHOLD_SECS", default: 30)
        reclaimIntervalSecs = try env.positiveSeconds("DURABLE_RECLAIM_INTERVAL_SECS", default: 10)
        noProgressSealThreshold = try env.positiveInt("DURABLE_NO_PROGRESS_SEAL_THRESHOLD", default: 3)
        stepMaxAttempts = try env.positiveInt("DURABLE_MAX_ATTEMPTS", default: 5)
        heartbeatIntervalSecs = try env.positiveSeconds("WORKER_HEARTBEAT_INTERVAL_SECS", default: 10)
        shutdownGraceSecs = try env.positiveSeconds("WORKER_SHUTDOWN_GRACE_SECS", default: 10)
        sseMonitoringCycleSecs = try env.positiveSeconds("SSE_MONITORING_CYCLE_SECS", default: 600)
        monitorSnapshotSecs = try env.positiveSeconds("DURABLE_MONITOR_SNAPSHOT_SECS", default: 5)
        circuitBreaker = CircuitBreakerPolicy(
            enabled: try env.bool("CIRCUIT_BREAKER_ENABLED", default: true),
            failureThreshold: try env.positiveInt("CIRCUIT_BREAKER_FAILURE_THRESHOLD", default: 5),
            failureRate: try env.fraction("CIRCUIT_BREAKER_FAILURE_RATE", default: 0.5),
            minimumRequests: try env.positiveInt("CIRCUIT_BREAKER_MIN_REQUESTS", default: 10),
            window: .seconds(try env.positiveSeconds("CIRCUIT_BREAKER_WINDOW_SECS", default: 60)),
            openDuration: .seconds(try env.positiveSeconds("CIRCUIT_BREAKER_OPEN_SECS", default: 30)))
        retention = RetentionPolicy(
            sessionTTLDays: try env.optionalPositiveNumber("SESSION_TTL_DAYS"),
            eventRetentionDays: try env.optionalPositiveNumber("EVENT_RETENTION_DAYS"),
            sweepInterval: .seconds(try env.positiveSeconds("RETENTION_SWEEP_INTERVAL_SECS", default: 3600)),
            batchSize: try env.positiveInt("RETENTION_BATCH_SIZE", default: 500))

        logFormat = try env.choice("LOG_FORMAT", default: devMode ? LogFormat.text : .json)
        logLevel = try env.choice("LOG_LEVEL", default: LogLevel.info)

        observability = try ObservabilitySettings(environment: environment, deploymentGrade: deploymentGrade.rawValue)
        auth = try AuthSettings(environment: environment, devMode: devMode, port: port)

        try validateKeyPair()
    }
}
