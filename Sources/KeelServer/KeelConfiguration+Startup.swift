import KeelAuth
import KeelCore

/// Startup policy and the settings summary logged when the server starts.
extension KeelConfiguration {
    /// Checks that the configuration can run in this build and returns warnings to log.
    ///
    /// Outside DEV_MODE a database and an encryption key are required: without them data or stored
    /// provider keys would be lost on restart, which must never happen silently in a real
    /// deployment. In DEV_MODE those losses are expected, so they are warnings instead.
    public func startupCheck() throws(ConfigurationError) -> [String] {
        guard devMode else {
            guard databaseURL != nil else {
                throw ConfigurationError(
                    variable: "DATABASE_URL",
                    message: "required unless DEV_MODE=true (a postgres:// URL; or run with DEV_MODE=1 for in-memory storage)"
                )
            }
            guard secretsEncryptionKey != nil else {
                throw Self.missingKeyError
            }
            guard workerGRPCAuthToken != nil else {
                throw ConfigurationError(
                    variable: "WORKER_GRPC_AUTH_TOKEN",
                    message: "must be set unless DEV_MODE=true (the same secret on the server and every worker)")
            }
            try auth.checkForProduction()
            return auth.mode == .none ? [Self.openAPIWarning] : []
        }
        var warnings = ["DEV_MODE: in-memory storage, data is not persisted and is lost when the server stops"]
        if auth.mode != .none, auth.jwtSecret == nil {
            warnings.append(
                "AUTH_JWT_SECRET: unset, so access tokens are signed with a per-process secret and end at restart")
        }
        if secretsEncryptionKey == nil {
            warnings.append(
                "SECRETS_ENCRYPTION_KEY: unset, so an ephemeral key (kek-ephemeral) is generated; stored provider keys will not survive a restart"
            )
        }
        return warnings
    }

    static let openAPIWarning =
        "AUTH_MODE=none outside DEV_MODE: every request acts as the administrator of the default organization; "
        + "anyone who reaches the port can read and change everything"

    /// Every setting keyed by its environment variable, for one startup log line.
    ///
    /// Secrets (encryption keys, provider API keys, the database URL, which usually embeds a
    /// password) appear only as "set" or "unset"; base URLs have any user info removed.
    public var redactedSummary: [String: String] {
        [
            "DEV_MODE": String(devMode),
            "DEPLOYMENT_GRADE": deploymentGrade.rawValue,
            "HOST": host,
            "PORT": String(port),
            "API_PREFIX": apiPrefix,
            "CORS_ALLOWED_ORIGINS": corsAllowedOrigins.joined(separator: ","),
            "HTTP_HEADER_TIMEOUT_SECS": Self.seconds(httpHeaderTimeoutSecs),
            "HTTP_IDLE_TIMEOUT_SECS": Self.seconds(httpIdleTimeoutSecs),
            "HTTP_MAX_CONNECTIONS": String(httpMaxConnections),
            "DATABASE_URL": Self.presence(databaseURL),
            "DATABASE_MAX_CONNECTIONS": String(databaseMaxConnections),
            "SECRETS_ENCRYPTION_KEY": Self.presence(secretsEncryptionKey),
            "SECRETS_ENCRYPTION_KEY_PREVIOUS": Self.presence(secretsEncryptionKeyPrevious),
            "DEFAULT_OPENAI_API_KEY": Self.presence(defaultOpenAIAPIKey),
            "DEFAULT_ANTHROPIC_API_KEY": Self.presence(defaultAnthropicAPIKey),
            "DEFAULT_GEMINI_API_KEY": Self.presence(defaultGeminiAPIKey),
            "OPENAI_BASE_URL": openAIBaseURL.map(Self.displayURL) ?? "unset",
            "ANTHROPIC_BASE_URL": anthropicBaseURL.map(Self.displayURL) ?? "unset",
            "GEMINI_BASE_URL": geminiBaseURL.map(Self.displayURL) ?? "unset",
            "LLM_ALLOW_PRIVATE_BASE_URLS": String(llmAllowPrivateBaseURLs),
            "SSE_REALTIME_CYCLE_SECS": Self.seconds(sseRealtimeCycleSecs),
            "SSE_HEARTBEAT_INTERVAL_SECS": Self.seconds(sseHeartbeatIntervalSecs),
            "SSE_GLOBAL_MAX": String(sseGlobalMax),
            "SSE_PER_SESSION_MAX": String(ssePerSessionMax),
            "SSE_PER_ORG_MAX": String(ssePerOrgMax),
            "SSE_REPLAY_PAGE_EVENTS": String(sseReplayPageEvents),
            "WEB_FETCH_ALLOW_PRIVATE_ADDRESSES": String(webFetchAllowPrivateAddresses),
            "TOOL_TIMEOUT_SECS": Self.seconds(toolTimeoutSecs),
            "MAX_ITERATIONS": String(maxIterations),
            "OUTPUT_DELTA_BATCH_MS": String(outputDeltaBatchMs),
            "MEMORY_STORE_MAX_MB": String(memoryStoreMaxMB),
            "MAX_QUEUED_MESSAGES_PER_SESSION": String(maxQueuedMessagesPerSession),
            "TOOL_RESULT_TIMEOUT_SECS": Self.seconds(toolResultTimeoutSecs),
            "LLM_STREAM_IDLE_TIMEOUT_SECS": Self.seconds(llmStreamIdleTimeoutSecs),
            "WEBHOOK_SIGNING_SECRET": Self.presence(webhookSigningSecret),
            "WORKER_GRPC_ADDR": workerGRPCBind.description,
            "WORKER_GRPC_AUTH_TOKEN": Self.presence(workerGRPCAuthToken),
            "WORKER_GRPC_TLS_CERT_FILE": workerGRPCTLSCertFile ?? "(unset)",
            "DURABLE_EMBEDDED_EXECUTORS": String(embeddedExecutors),
            "DURABLE_STALE_TASK_THRESHOLD_SECS": Self.seconds(staleTaskThresholdSecs),
            "DURABLE_RECLAIM_INTERVAL_SECS": Self.seconds(reclaimIntervalSecs),
            "DURABLE_NO_PROGRESS_SEAL_THRESHOLD": String(noProgressSealThreshold),
            "DURABLE_MAX_ATTEMPTS": String(stepMaxAttempts),
            "WORKER_HEARTBEAT_INTERVAL_SECS": Self.seconds(heartbeatIntervalSecs),
            "WORKER_SHUTDOWN_GRACE_SECS": Self.seconds(shutdownGraceSecs),
            "LOG_FORMAT": logFormat.rawValue,
            "LOG_LEVEL": logLevel.rawValue,
            "AUTH_MODE": auth.mode.rawValue,
            "AUTH_ADMIN_EMAIL": auth.adminEmail ?? "unset",
            "AUTH_ADMIN_PASSWORD": Self.presence(auth.adminPassword),
            "AUTH_JWT_SECRET": Self.presence(auth.jwtSecret),
            "AUTH_DISABLE_SIGNUP": String(!auth.signupEnabled),
            "AUTH_OAUTH_PROVIDERS": auth.oauthProviders.map(\.name).joined(separator: ","),
            "AUTH_PUBLIC_URL": Self.displayURL(auth.publicURL),
        ]
    }

    private static func presence(_ value: (some Any)?) -> String {
        value == nil ? "unset" : "set"
    }

    /// Whole seconds without a trailing ".0", so the summary reads like the environment.
    private static func seconds(_ value: Double) -> String {
        if value.rounded() == value, let whole = Int(exactly: value) {
            return String(whole)
        }
        return String(value)
    }
}
