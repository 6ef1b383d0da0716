import Foundation
import KeelCore
import KeelEngine
import Testing
@testable import KeelServer

/// Tests for `KeelConfiguration`: the Everruns environment contract (names, defaults, formats)
/// and the guarantee that secret values never reach error text or the startup summary.
@Suite("KeelConfiguration")
struct ConfigurationTests {
    /// A syntactically valid key with recognisable material, so leaks are easy to detect.
    static let keyMaterial = Data(repeating: 0x11, count: 32).base64EncodedString()
    static let previousKeyMaterial = Data(repeating: 0x22, count: 32).base64EncodedString()
    static let key = "kek-v2:\(keyMaterial)"
    static let previousKey = "kek-v1:\(previousKeyMaterial)"

    /// Parses and expects a `ConfigurationError` for `variable`; returns it for further checks.
    @discardableResult
    func expectError(
        _ environment: [String: String], variable: String, sourceLocation: SourceLocation = #_sourceLocation
    ) -> ConfigurationError? {
        do {
            _ = try KeelConfiguration(environment: environment)
            Issue.record("expected an error for \(variable)", sourceLocation: sourceLocation)
            return nil
        } catch {
            #expect(error.variable == variable, sourceLocation: sourceLocation)
            #expect(error.description.hasPrefix("\(variable): "), sourceLocation: sourceLocation)
            #expect(!error.description.contains("\n"), sourceLocation: sourceLocation)
            return error
        }
    }

    // MARK: Defaults

    @Test("defaults match the Everruns environment contract")
    func defaults() throws {
        let config = try KeelConfiguration(environment: [:])
        #expect(config.devMode == false)
        #expect(config.deploymentGrade == .prod)
        #expect(config.host == "0.0.0.0")
        #expect(config.port == 9000)
        #expect(config.apiPrefix == "")
        #expect(config.corsAllowedOrigins.isEmpty)
        #expect(config.databaseURL == nil)
        #expect(config.secretsEncryptionKey == nil)
        #expect(config.secretsEncryptionKeyPrevious == nil)
        #expect(config.defaultOpenAIAPIKey == nil)
        #expect(config.defaultAnthropicAPIKey == nil)
        #expect(config.defaultGeminiAPIKey == nil)
        #expect(config.openAIBaseURL == nil)
        #expect(config.anthropicBaseURL == nil)
        #expect(config.geminiBaseURL == nil)
        #expect(config.sseRealtimeCycleSecs == 300)
        #expect(config.sseHeartbeatIntervalSecs == 30)
        #expect(config.sseGlobalMax == 10_000)
        #expect(config.ssePerSessionMax == 5)
        #expect(config.ssePerOrgMax == 1_000)
        #expect(config.webFetchAllowPrivateAddresses == false)
        #expect(config.toolTimeoutSecs == 60)
        #expect(config.llmStreamIdleTimeoutSecs == 120)
        #expect(config.maxIterations == 100)
        #expect(config.logFormat == .json)
        #expect(config.logLevel == .info)
    }

    @Test("operations: monitoring, circuit breaker and retention defaults and bounds")
    func durableOperations() throws {
        let config = try KeelConfiguration(environment: [:])
        #expect(config.sseMonitoringCycleSecs == 600)
        #expect(config.monitorSnapshotSecs == 5)
        #expect(config.circuitBreaker == CircuitBreakerPolicy())
        #expect(config.circuitBreaker.enabled && config.circuitBreaker.failureThreshold == 5)
        #expect(config.circuitBreaker.failureRate == 0.5 && config.circuitBreaker.minimumRequests == 10)
        #expect(config.circuitBreaker.window == .seconds(60) && config.circuitBreaker.openDuration == .seconds(30))
        #expect(!config.retention.isEnabled && config.retention.batchSize == 500)
        #expect(config.retention.sweepInterval == .seconds(3600))

        let set = try KeelConfiguration(environment: [
            "SSE_MONITORING_CYCLE_SECS": "120", "CIRCUIT_BREAKER_ENABLED": "false", "CIRCUIT_BREAKER_FAILURE_RATE": "0.25",
            "SESSION_TTL_DAYS": "30", "EVENT_RETENTION_DAYS": "0.5", "RETENTION_BATCH_SIZE": "50",
        ])
        #expect(set.sseMonitoringCycleSecs == 120)
        #expect(!set.circuitBreaker.enabled && set.circuitBreaker.failureRate == 0.25)
        #expect(set.retention.sessionTTLDays == 30 && set.retention.eventRetentionDays == 0.5)
        let now = Date()
        #expect(set.retention.eventCutoff(now: now) == now.addingTimeInterval(-43_200))
        #expect(set.retention.batchSize == 50)

        expectError(["CIRCUIT_BREAKER_FAILURE_RATE": "1.5"], variable: "CIRCUIT_BREAKER_FAILURE_RATE")
        expectError(["CIRCUIT_BREAKER_FAILURE_RATE": "0"], variable: "CIRCUIT_BREAKER_FAILURE_RATE")
        expectError(["CIRCUIT_BREAKER_FAILURE_THRESHOLD": "0"], variable: "CIRCUIT_BREAKER_FAILURE_THRESHOLD")
        expectError(["CIRCUIT_BREAKER_OPEN_SECS": "-1"], variable: "CIRCUIT_BREAKER_OPEN_SECS")
        expectError(["SESSION_TTL_DAYS": "0"], variable: "SESSION_TTL_DAYS")
        expectError(["EVENT_RETENTION_DAYS": "forever"], variable: "EVENT_RETENTION_DAYS")
        expectError(["RETENTION_BATCH_SIZE": "0"], variable: "RETENTION_BATCH_SIZE")
        expectError(["SSE_MONITORING_CYCLE_SECS": "0"], variable: "SSE_MONITORING_CYCLE_SECS")
    }

    @Test("empty values count as unset")
    func emptyValuesAreUnset() throws {
        let names = [
            "DEV_MODE", "DEPLOYMENT_GRADE", "HOST", "PORT", "API_PREFIX", "CORS_ALLOWED_ORIGINS", "DATABASE_URL",
            "SECRETS_ENCRYPTION_KEY", "DEFAULT_OPENAI_API_KEY", "DEFAULT_ANTHROPIC_API_KEY", "DEFAULT_GEMINI_API_KEY",
            "SSE_GLOBAL_MAX", "LOG_FORMAT", "LOG_LEVEL", "OPENAI_BASE_URL",
        ]
        let config = try KeelConfiguration(environment: Dictionary(uniqueKeysWithValues: names.map { ($0, "") }))
        #expect(config.devMode == false)
        #expect(config.port == 9000)
        #expect(config.databaseURL == nil)
        #expect(config.secretsEncryptionKey == nil)
        #expect(config.defaultOpenAIAPIKey == nil)
        #expect(config.defaultAnthropicAPIKey == nil)
        #expect(config.defaultGeminiAPIKey == nil)
        #expect(config.sseGlobalMax == 10_000)
    }

    // MARK: DEV_MODE and DEPLOYMENT_GRADE

    @Test("DEV_MODE accepts true/false/1/0/yes/no in any case",
          arguments: [("true", true), ("TRUE", true), ("1", true), ("yes", true), ("Yes", true),
                      ("false", false), ("False", false), ("0", false), ("no", false), ("NO", false)])
    func devModeValues(text: String, expected: Bool) throws {
        let config = try KeelConfiguration(environment: ["DEV_MODE": text])
        #expect(config.devMode == expected)
    }

    @Test("DEV_MODE rejects other values", arguments: ["ture", "on", "2", "enabled"])
    func devModeInvalid(text: String) {
        let error = expectError(["DEV_MODE": text], variable: "DEV_MODE")
        #expect(error?.description == "DEV_MODE: expected true, false, 1, 0, yes or no (got \"\(text)\")")
    }

    @Test("DEV_MODE selects grade dev and text logs")
    func devModeDefaults() throws {
        let config = try KeelConfiguration(environment: ["DEV_MODE": "1"])
        #expect(config.deploymentGrade == .dev)
        #expect(config.deploymentGrade.allowsExperimental)
        #expect(config.logFormat == .text)
    }

    @Test("an explicit DEPLOYMENT_GRADE overrides the DEV_MODE default")
    func explicitGrade() throws {
        #expect(try KeelConfiguration(environment: ["DEV_MODE": "true", "DEPLOYMENT_GRADE": "prod"]).deploymentGrade == .prod)
        #expect(try KeelConfiguration(environment: ["DEPLOYMENT_GRADE": "preview"]).deploymentGrade == .preview)
        #expect(try KeelConfiguration(environment: ["DEPLOYMENT_GRADE": "POC"]).deploymentGrade == .poc)
        #expect(try KeelConfiguration(environment: ["DEPLOYMENT_GRADE": "dev"]).deploymentGrade == .dev)
    }

    @Test("only dev allows experimental features")
    func allowsExperimental() {
        #expect(DeploymentGrade.dev.allowsExperimental)
        #expect(!DeploymentGrade.poc.allowsExperimental)
        #expect(!DeploymentGrade.preview.allowsExperimental)
        #expect(!DeploymentGrade.prod.allowsExperimental)
    }

    @Test("an unknown DEPLOYMENT_GRADE is a one-line error listing the options")
    func unknownGrade() {
        let error = expectError(["DEPLOYMENT_GRADE": "staging"], variable: "DEPLOYMENT_GRADE")
        #expect(error?.description == #"DEPLOYMENT_GRADE: expected one of dev, poc, preview, prod (got "staging")"#)
    }

    @Test("rejected values are escaped onto one line")
    func errorsStayOnOneLine() {
        let error = expectError(["DEPLOYMENT_GRADE": "pr\nod\"x"], variable: "DEPLOYMENT_GRADE")
        #expect(error?.description.contains(#"(got "pr\nod\"x")"#) == true)
    }

    // MARK: API_PREFIX

    @Test("API_PREFIX is normalised",
          arguments: [("/api", "/api"), ("/api/", "/api"), ("/api///", "/api"), ("/", ""), ("/api/v1/", "/api/v1"), ("", "")])
    func apiPrefixNormalisation(text: String, expected: String) throws {
        #expect(try KeelConfiguration(environment: ["API_PREFIX": text]).apiPrefix == expected)
    }

    @Test("API_PREFIX rejects values that are not a clean path", arguments: ["api", "/my api", "/api?x=1", "/api#top", "//api"])
    func apiPrefixInvalid(text: String) {
        expectError(["API_PREFIX": text], variable: "API_PREFIX")
    }

    // MARK: CORS_ALLOWED_ORIGINS

    @Test("CORS_ALLOWED_ORIGINS is split, trimmed and lowercased; empties are dropped")
    func corsParsing() throws {
        let config = try KeelConfiguration(environment: [
            "CORS_ALLOWED_ORIGINS": " https://app.example.com, ,HTTPS://Admin.Example.com:8443,,http://[::1]:3000,https://app.example.com",
        ])
        #expect(config.corsAllowedOrigins == ["https://app.example.com", "https://admin.example.com:8443", "http://[::1]:3000"])
        #expect(try KeelConfiguration(environment: ["CORS_ALLOWED_ORIGINS": " , "]).corsAllowedOrigins.isEmpty)
    }

    @Test("CORS_ALLOWED_ORIGINS rejects the wildcard because credentials are allowed", arguments: ["*", "https://a.example.com,*"])
    func corsWildcard(text: String) {
        let error = expectError(["CORS_ALLOWED_ORIGINS": text], variable: "CORS_ALLOWED_ORIGINS")
        #expect(error?.description.contains("wildcard is not supported because credentials are allowed") == true)
    }

    @Test("CORS_ALLOWED_ORIGINS rejects entries that are not scheme://host[:port]", arguments: [
        "app.example.com", "https://app.example.com/", "https://app.example.com/app", "https://app.example.com?x",
        "https://user@app.example.com", "https://app.example.com:0", "https://app.example.com:99999",
        "https://app.example.com:", "https://", "https://exa mple.com", "://app.example.com",
    ])
    func corsInvalidOrigin(text: String) {
        let error = expectError(["CORS_ALLOWED_ORIGINS": text], variable: "CORS_ALLOWED_ORIGINS")
        #expect(error?.description.contains("scheme://host[:port]") == true)
    }

    // MARK: Secrets

    @Test("SECRETS_ENCRYPTION_KEY and _PREVIOUS are parsed")
    func keysParsed() throws {
        let config = try KeelConfiguration(environment: [
            "SECRETS_ENCRYPTION_KEY": Self.key, "SECRETS_ENCRYPTION_KEY_PREVIOUS": Self.previousKey,
        ])
        #expect(config.secretsEncryptionKey?.id == "kek-v2")
        #expect(config.secretsEncryptionKeyPrevious?.id == "kek-v1")
        #expect(try config.makeSecretsCipher().primary.id == "kek-v2")
    }

    @Test("malformed keys are errors that never echo the value", arguments: [
        "SECRETS_ENCRYPTION_KEY", "SECRETS_ENCRYPTION_KEY_PREVIOUS",
    ])
    func malformedKeys(variable: String) {
        let material31 = Data(repeating: 0x33, count: 31).base64EncodedString()
        let bad = [
            "kek-v1:\(material31)",
            Self.keyMaterial,
            "kek-v1:\(Self.keyMaterial)!",
            "kek-v1:\(Data(repeating: 0x33, count: 33).base64EncodedString())",
        ]
        for value in bad {
            var environment = ["SECRETS_ENCRYPTION_KEY": Self.key]
            environment[variable] = value
            let error = expectError(environment, variable: variable)
            let text = error?.description ?? ""
            #expect(text.contains("expected <key_id>:<base64 of exactly 32 bytes>"))
            #expect(!text.contains(material31))
            #expect(!text.contains(Self.keyMaterial))
            #expect(!String(reflecting: error).contains(Self.keyMaterial))
        }
    }

    @Test("SECRETS_ENCRYPTION_KEY_PREVIOUS requires a primary key with a different id")
    func previousKeyRules() {
        expectError(["SECRETS_ENCRYPTION_KEY_PREVIOUS": Self.previousKey], variable: "SECRETS_ENCRYPTION_KEY_PREVIOUS")
        let error = expectError(
            ["SECRETS_ENCRYPTION_KEY": Self.key, "SECRETS_ENCRYPTION_KEY_PREVIOUS": "kek-v2:\(Self.previousKeyMaterial)"],
            variable: "SECRETS_ENCRYPTION_KEY_PREVIOUS"
        )
        #expect(error?.description.contains("kek-v2") == true)
        #expect(error?.description.contains(Self.previousKeyMaterial) == false)
    }

    @Test("DEFAULT_*_API_KEY values are read and empty means unset")
    func providerKeys() throws {
        let config = try KeelConfiguration(environment: [
            "DEFAULT_OPENAI_API_KEY": "sk-openai", "DEFAULT_ANTHROPIC_API_KEY": "sk-ant-x", "DEFAULT_GEMINI_API_KEY": "",
        ])
        #expect(config.defaultOpenAIAPIKey == "sk-openai")
        #expect(config.defaultAnthropicAPIKey == "sk-ant-x")
        #expect(config.defaultGeminiAPIKey == nil)
    }

    // MARK: Numbers

    @Test("SSE and tool times accept positive decimals")
    func fractionalSeconds() throws {
        let config = try KeelConfiguration(environment: [
            "SSE_REALTIME_CYCLE_SECS": "0.2", "SSE_HEARTBEAT_INTERVAL_SECS": "0.05",
            "TOOL_TIMEOUT_SECS": "2.5", "SSE_GLOBAL_MAX": "3", "SSE_PER_SESSION_MAX": "1", "SSE_PER_ORG_MAX": "2",
            "MAX_ITERATIONS": "1", "LLM_STREAM_IDLE_TIMEOUT_SECS": "0.5",
        ])
        #expect(config.sseRealtimeCycleSecs == 0.2)
        #expect(config.sseHeartbeatIntervalSecs == 0.05)
        #expect(config.toolTimeoutSecs == 2.5)
        #expect(config.sseGlobalMax == 3)
        #expect(config.ssePerSessionMax == 1)
        #expect(config.ssePerOrgMax == 2)
        #expect(config.maxIterations == 1)
        #expect(config.llmStreamIdleTimeoutSecs == 0.5)
    }

    @Test("OUTPUT_DELTA_BATCH_MS: 100 by default, 0 to 10000, anything else a startup error")
    func outputDeltaBatch() throws {
        #expect(try KeelConfiguration(environment: [:]).outputDeltaBatchMs == 100)
        #expect(try KeelConfiguration(environment: ["OUTPUT_DELTA_BATCH_MS": "0"]).outputDeltaBatchMs == 0)
        #expect(try KeelConfiguration(environment: ["OUTPUT_DELTA_BATCH_MS": "10000"]).outputDeltaBatchMs == 10_000)
        for value in ["-1", "10001", "fast", "1.5"] {
            #expect(throws: ConfigurationError.self, "\(value)") {
                try KeelConfiguration(environment: ["OUTPUT_DELTA_BATCH_MS": value])
            }
        }
    }

    @Test("time settings reject non-numbers, zero, negatives and non-finite values", arguments: [
        "SSE_REALTIME_CYCLE_SECS", "SSE_HEARTBEAT_INTERVAL_SECS", "TOOL_TIMEOUT_SECS",
        "LLM_STREAM_IDLE_TIMEOUT_SECS",
    ])
    func invalidSeconds(variable: String) {
        for value in ["abc", "0", "-5", "nan", "inf", "10s"] {
            let error = expectError([variable: value], variable: variable)
            #expect(error?.description.contains("positive number of seconds") == true)
        }
    }

    @Test("count settings reject non-integers, zero and negatives", arguments: [
        "SSE_GLOBAL_MAX", "SSE_PER_SESSION_MAX", "SSE_PER_ORG_MAX", "MAX_ITERATIONS",
    ])
    func invalidCounts(variable: String) {
        for value in ["abc", "0", "-1", "1.5"] {
            let error = expectError([variable: value], variable: variable)
            #expect(error?.description.contains("whole number of at least 1") == true)
        }
    }

    @Test("PORT accepts 0 through 65535", arguments: [("0", 0), ("8080", 8080), ("65535", 65_535)])
    func validPorts(text: String, expected: Int) throws {
        #expect(try KeelConfiguration(environment: ["PORT": text]).port == expected)
    }

    @Test("PORT rejects out-of-range and non-numeric values", arguments: ["65536", "-1", "http", "80.5"])
    func invalidPorts(text: String) {
        expectError(["PORT": text], variable: "PORT")
    }

    // MARK: Other settings

    @Test("HOST, DATABASE_URL and WEB_FETCH_ALLOW_PRIVATE_ADDRESSES are read")
    func simpleSettings() throws {
        let config = try KeelConfiguration(environment: [
            "HOST": "127.0.0.1", "DATABASE_URL": "postgres://u:p@db/keel", "WEB_FETCH_ALLOW_PRIVATE_ADDRESSES": "yes",
        ])
        #expect(config.host == "127.0.0.1")
        #expect(config.databaseURL == "postgres://u:p@db/keel")
        #expect(config.webFetchAllowPrivateAddresses)
        expectError(["WEB_FETCH_ALLOW_PRIVATE_ADDRESSES": "sometimes"], variable: "WEB_FETCH_ALLOW_PRIVATE_ADDRESSES")
    }

    @Test("DEV_MODE binds 127.0.0.1 by default; HOST overrides it; otherwise 0.0.0.0")
    func devModeHost() throws {
        #expect(try KeelConfiguration(environment: ["DEV_MODE": "1"]).host == "127.0.0.1")
        #expect(try KeelConfiguration(environment: ["DEV_MODE": "1", "HOST": "0.0.0.0"]).host == "0.0.0.0")
        #expect(try KeelConfiguration(environment: ["DEV_MODE": "0"]).host == "0.0.0.0")
    }

    @Test("HTTP connection limits: defaults, overrides and validation")
    func httpConnectionLimits() throws {
        let defaults = try KeelConfiguration(environment: [:])
        #expect(defaults.httpHeaderTimeoutSecs == 10)
        #expect(defaults.httpIdleTimeoutSecs == 60)
        #expect(defaults.httpMaxConnections == 12_000)
        #expect(defaults.httpMaxConnections > defaults.sseGlobalMax)
        let custom = try KeelConfiguration(environment: [
            "HTTP_HEADER_TIMEOUT_SECS": "2.5", "HTTP_IDLE_TIMEOUT_SECS": "5", "HTTP_MAX_CONNECTIONS": "100",
        ])
        #expect(custom.httpHeaderTimeoutSecs == 2.5)
        #expect(custom.httpIdleTimeoutSecs == 5)
        #expect(custom.httpMaxConnections == 100)
        #expect(custom.redactedSummary["HTTP_MAX_CONNECTIONS"] == "100")
        expectError(["HTTP_HEADER_TIMEOUT_SECS": "0"], variable: "HTTP_HEADER_TIMEOUT_SECS")
        expectError(["HTTP_IDLE_TIMEOUT_SECS": "soon"], variable: "HTTP_IDLE_TIMEOUT_SECS")
        expectError(["HTTP_MAX_CONNECTIONS": "0"], variable: "HTTP_MAX_CONNECTIONS")
    }

    @Test("provider base URLs must be http(s) URLs; trailing slashes are dropped")
    func baseURLs() throws {
        let config = try KeelConfiguration(environment: [
            "OPENAI_BASE_URL": "http://127.0.0.1:8080/v1/", "ANTHROPIC_BASE_URL": "https://api.anthropic.com",
            "GEMINI_BASE_URL": "https://generativelanguage.googleapis.com/v1beta",
        ])
        #expect(config.openAIBaseURL == "http://127.0.0.1:8080/v1")
        #expect(config.anthropicBaseURL == "https://api.anthropic.com")
        #expect(config.geminiBaseURL == "https://generativelanguage.googleapis.com/v1beta")
        for variable in ["OPENAI_BASE_URL", "ANTHROPIC_BASE_URL", "GEMINI_BASE_URL"] {
            for value in ["ftp://example.com", "not a url", "https://", "example.com/v1"] {
                expectError([variable: value], variable: variable)
            }
        }
    }

    @Test("LOG_FORMAT and LOG_LEVEL accept their options case-insensitively")
    func logging() throws {
        let config = try KeelConfiguration(environment: ["LOG_FORMAT": "TEXT", "LOG_LEVEL": "Debug"])
        #expect(config.logFormat == .text)
        #expect(config.logLevel == .debug)
        #expect(try KeelConfiguration(environment: ["DEV_MODE": "1", "LOG_FORMAT": "json"]).logFormat == .json)
        let format = expectError(["LOG_FORMAT": "xml"], variable: "LOG_FORMAT")
        #expect(format?.description == #"LOG_FORMAT: expected one of json, text (got "xml")"#)
        let level = expectError(["LOG_LEVEL": "verbose"], variable: "LOG_LEVEL")
        #expect(level?.description == #"LOG_LEVEL: expected one of trace, debug, info, notice, warning, error, critical (got "verbose")"#)
    }

    // MARK: Startup check

    @Test("outside DEV_MODE a DATABASE_URL is required")
    func startupRequiresDatabase() throws {
        let config = try KeelConfiguration(environment: ["SECRETS_ENCRYPTION_KEY": Self.key])
        #expect(throws: ConfigurationError(
            variable: "DATABASE_URL",
            message: "required unless DEV_MODE=true (a postgres:// URL; or run with DEV_MODE=1 for in-memory storage)"
        )) {
            try config.startupCheck()
        }
    }

    @Test("outside DEV_MODE a SECRETS_ENCRYPTION_KEY is required and the error says how to make one")
    func startupRequiresKey() throws {
        let config = try KeelConfiguration(environment: ["DATABASE_URL": "postgres://db/keel"])
        do {
            _ = try config.startupCheck()
            Issue.record("expected an error")
        } catch {
            #expect(error.variable == "SECRETS_ENCRYPTION_KEY")
            #expect(error.description.contains("base64.b64encode(os.urandom(32))"))
            #expect(!error.description.contains("\n"))
        }
        #expect(throws: ConfigurationError.self) {
            try config.makeSecretsCipher()
        }
    }

    @Test("a complete production configuration passes without warnings")
    func startupProduction() throws {
        let config = try KeelConfiguration(environment: [
            "DATABASE_URL": "postgres://db/keel", "SECRETS_ENCRYPTION_KEY": Self.key, "WORKER_GRPC_AUTH_TOKEN": "s3cret-token",
            "AUTH_JWT_SECRET": "jwt-secret-jwt-secret-jwt-secret-jwt",
        ])
        #expect(try config.startupCheck().isEmpty)
        #expect(config.redactedSummary["AUTH_JWT_SECRET"] == "set")
        #expect(!config.redactedSummary.values.joined().contains("jwt-secret"))
        #expect(config.databaseMaxConnections == 20)
        #expect(config.workerGRPCBind == HostAndPort(host: "127.0.0.1", port: 9001))
        #expect(config.embeddedExecutors == 4)
        #expect(config.staleTaskThresholdSecs == 30 && config.reclaimIntervalSecs == 10)
        #expect(config.noProgressSealThreshold == 3 && config.stepMaxAttempts == 5)
        #expect(config.redactedSummary["WORKER_GRPC_AUTH_TOKEN"] == "set")
        #expect(!config.redactedSummary.values.joined().contains("s3cret-token"))
    }

    @Test("outside DEV_MODE the worker token is required; durable settings are validated")
    func durableSettings() throws {
        let withoutToken = try KeelConfiguration(environment: ["DATABASE_URL": "postgres://db/keel", "SECRETS_ENCRYPTION_KEY": Self.key])
        #expect(throws: ConfigurationError.self) { try withoutToken.startupCheck() }
        #expect(try KeelConfiguration(environment: ["DEV_MODE": "1"]).startupCheck().count == 2, "no token needed in DEV_MODE")
        let custom = try KeelConfiguration(environment: [
            "DEV_MODE": "1", "WORKER_GRPC_ADDR": "127.0.0.1:19001", "DURABLE_EMBEDDED_EXECUTORS": "0",
            "DURABLE_STALE_TASK_THRESHOLD_SECS": "2.5",
        ])
        #expect(custom.workerGRPCBind == HostAndPort(host: "127.0.0.1", port: 19001))
        #expect(custom.embeddedExecutors == 0 && custom.staleTaskThresholdSecs == 2.5)
        for (name, value) in [
            ("WORKER_GRPC_ADDR", "nine-thousand"), ("WORKER_GRPC_ADDR", "host:99999"), ("DURABLE_EMBEDDED_EXECUTORS", "-1"),
            ("DURABLE_STALE_TASK_THRESHOLD_SECS", "0"), ("DURABLE_NO_PROGRESS_SEAL_THRESHOLD", "0"),
        ] {
            #expect(throws: ConfigurationError.self, "\(name)=\(value)") {
                try KeelConfiguration(environment: ["DEV_MODE": "1", name: value])
            }
        }
    }

    @Test("a worker needs only the gRPC settings; its token is required outside DEV_MODE")
    func workerConfiguration() throws {
        let worker = try WorkerConfiguration(environment: ["WORKER_GRPC_AUTH_TOKEN": "t"])
        #expect(worker.serverAddress == HostAndPort(host: "127.0.0.1", port: 9001))
        #expect(worker.connectTimeoutSecs == 30 && worker.maxConcurrentTasks == 10)
        #expect(worker.llmStreamIdleTimeoutSecs == 120)
        let custom = try WorkerConfiguration(environment: [
            "WORKER_GRPC_AUTH_TOKEN": "t", "WORKER_GRPC_ADDRESS": "http://control-plane:9101", "WORKER_GRPC_CONNECT_TIMEOUT": "60",
            "LLM_STREAM_IDLE_TIMEOUT_SECS": "2",
        ])
        #expect(custom.serverAddress == HostAndPort(host: "control-plane", port: 9101))
        #expect(custom.connectTimeoutSecs == 60)
        #expect(custom.llmStreamIdleTimeoutSecs == 2)
        #expect(throws: ConfigurationError.self) { try WorkerConfiguration(environment: [:]) }
        #expect(try WorkerConfiguration(environment: ["DEV_MODE": "1"]).authToken == nil)
    }

    @Test("DEV_MODE warns about in-memory storage and the ephemeral key")
    func startupDevMode() throws {
        let withoutKey = try KeelConfiguration(environment: ["DEV_MODE": "true"])
        let warnings = try withoutKey.startupCheck()
        #expect(warnings.count == 2)
        #expect(warnings.first == "DEV_MODE: in-memory storage, data is not persisted and is lost when the server stops")
        #expect(warnings.last?.contains("ephemeral") == true)
        #expect(warnings.last?.contains("will not survive a restart") == true)
        #expect(try withoutKey.makeSecretsCipher().primary.id == "kek-ephemeral")

        let withKey = try KeelConfiguration(environment: ["DEV_MODE": "true", "SECRETS_ENCRYPTION_KEY": Self.key])
        #expect(try withKey.startupCheck() == ["DEV_MODE: in-memory storage, data is not persisted and is lost when the server stops"])
        #expect(try withKey.makeSecretsCipher().primary.id == "kek-v2")
    }

    // MARK: Summary

    @Test("the redacted summary shows secrets only as set/unset")
    func redactedSummary() throws {
        let config = try KeelConfiguration(environment: [
            "SECRETS_ENCRYPTION_KEY": Self.key, "SECRETS_ENCRYPTION_KEY_PREVIOUS": Self.previousKey,
            "DEFAULT_OPENAI_API_KEY": "sk-openai-secret", "DATABASE_URL": "postgres://u:hunter2@db/keel",
            "OPENAI_BASE_URL": "https://user:pw123@proxy.example.com/v1", "API_PREFIX": "/api",
            "SSE_HEARTBEAT_INTERVAL_SECS": "0.5",
        ])
        let summary = config.redactedSummary
        #expect(summary["SECRETS_ENCRYPTION_KEY"] == "set")
        #expect(summary["SECRETS_ENCRYPTION_KEY_PREVIOUS"] == "set")
        #expect(summary["DEFAULT_OPENAI_API_KEY"] == "set")
        #expect(summary["DEFAULT_ANTHROPIC_API_KEY"] == "unset")
        #expect(summary["DEFAULT_GEMINI_API_KEY"] == "unset")
        #expect(summary["DATABASE_URL"] == "set")
        #expect(summary["OPENAI_BASE_URL"] == "https://proxy.example.com/v1")
        #expect(summary["API_PREFIX"] == "/api")
        #expect(summary["PORT"] == "9000")
        #expect(summary["SSE_REALTIME_CYCLE_SECS"] == "300")
        #expect(summary["SSE_HEARTBEAT_INTERVAL_SECS"] == "0.5")
        #expect(summary["DEPLOYMENT_GRADE"] == "prod")
        let everything = summary.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
        for secret in [Self.keyMaterial, Self.previousKeyMaterial, "sk-openai-secret", "hunter2", "pw123"] {
            #expect(!everything.contains(secret))
        }
    }
}
