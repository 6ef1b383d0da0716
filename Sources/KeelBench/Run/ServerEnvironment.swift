import Foundation

/// The environments the benchmark gives `keel server` and `keel worker`.
///
/// Nothing of the caller's configuration leaks in (no AUTH_*, DATABASE_URL, DEV_MODE, provider
/// keys…): only the variables a process needs to run at all are passed on (`inherited`), then the
/// benchmark's settings, then `--server-env` extras. Authentication is off (AUTH_MODE=none): the
/// benchmark measures turns, not credential checks.
public enum ServerEnvironment {
    static let inherited = ["PATH", "HOME", "USER", "LANG", "LC_ALL", "LC_CTYPE", "TMPDIR", "TZ"]

    /// What one server start needs to know of its surroundings.
    public struct Plan: Sendable {
        public var mode: BenchMode
        public var scenario: BenchScenario
        public var port: Int
        public var databaseURL: String?
        public var workerPort: Int
        public var workerToken: String
        public var embeddedExecutors: Int
        /// The OTLP sink's base URL (the mock), for `memory-traced`.
        public var collectorURL: String?
    }

    public static func base(_ caller: [String: String]) -> [String: String] {
        caller.filter { inherited.contains($0.key) }
    }

    public static func server(_ plan: Plan, caller: [String: String], extra: [String: String] = [:]) -> [String: String] {
        var env = base(caller)
        env["HOST"] = "127.0.0.1"
        env["PORT"] = String(plan.port)
        env["LOG_LEVEL"] = "warning"
        env["AUTH_MODE"] = "none"
        if plan.mode.usesPostgres {
            env["DEV_MODE"] = "false"
            env["DATABASE_URL"] = plan.databaseURL
            env["SECRETS_ENCRYPTION_KEY"] = "kek-v1:" + Data(RandomText.bytes(32)).base64EncodedString()
            env["WORKER_GRPC_AUTH_TOKEN"] = plan.workerToken
            env["WORKER_GRPC_ADDR"] = "127.0.0.1:\(plan.workerPort)"
            env["DURABLE_EMBEDDED_EXECUTORS"] = plan.mode == .postgresEmbedded ? String(plan.embeddedExecutors) : "0"
        } else {
            env["DEV_MODE"] = "1"
        }
        if plan.mode == .memoryTraced, let collector = plan.collectorURL {
            env.merge(tracing(to: collector)) { _, new in new }
        }
        if plan.scenario.usesMock { env["LLM_ALLOW_PRIVATE_BASE_URLS"] = "true" }
        return env.merging(extra) { _, new in new }
    }

    /// Full observability, every destination the sink at `collector`: spans to Langfuse, Phoenix
    /// and a generic OTLP/HTTP endpoint (three export pipelines), exported every 500 ms so the
    /// exports fall inside even a short measured phase, and Prometheus metrics on.
    static func tracing(to collector: String) -> [String: String] {
        [
            "OTEL_TARGETS": "LANGFUSE,PHOENIX,GENERIC",
            "LANGFUSE_BASE_URL": collector,
            "LANGFUSE_PUBLIC_KEY": "pk-lf-bench",
            "LANGFUSE_SECRET_KEY": "sk-lf-bench",
            "PHOENIX_COLLECTOR_ENDPOINT": collector,
            "OTEL_EXPORTER_OTLP_ENDPOINT": collector,
            "OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf",
            "OTEL_BSP_SCHEDULE_DELAY": "500",
            "ENABLE_PROMETHEUS_METRICS": "true",
        ]
    }

    public static func worker(
        index: Int, plan: Plan, tasks: Int, caller: [String: String], extra: [String: String] = [:]
    ) -> [String: String] {
        var env = base(caller)
        env["WORKER_GRPC_ADDRESS"] = "127.0.0.1:\(plan.workerPort)"
        env["WORKER_GRPC_AUTH_TOKEN"] = plan.workerToken
        env["MAX_CONCURRENT_TASKS"] = String(tasks)
        env["LOG_LEVEL"] = "warning"
        env["WORKER_ID"] = "bench-\(index)"
        return env.merging(extra) { _, new in new }
    }
}
