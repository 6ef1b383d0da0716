import Foundation

/// All results of one `keel-bench run`, and how they are written: JSON (snake_case keys, null
/// where a figure could not be measured, with the reason beside it) and the throughput ratios of
/// the PostgreSQL modes to memory for the same scenario.
public struct BenchReport: Sendable {
    public var results: [BenchResult]
    public var logDirectory: String
    /// The mock's counters at the end of the run (the tool scenario), for the record.
    public var mockSummary: String?

    public init(results: [BenchResult], logDirectory: String, mockSummary: String? = nil) {
        self.results = results
        self.logDirectory = logDirectory
        self.mockSummary = mockSummary
    }

    public struct Ratio: Sendable, Equatable {
        public var scenario: BenchScenario
        public var mode: BenchMode
        /// The mode's turns/s divided by memory's, same scenario.
        public var turnsPerSecondVsMemory: Double
    }

    public var ratios: [Ratio] {
        results.compactMap { result in
            guard result.mode != .memory, let rate = result.turnsPerSecond,
                let memory = results.first(where: { $0.mode == .memory && $0.scenario == result.scenario })?.turnsPerSecond,
                memory > 0
            else { return nil }
            return Ratio(scenario: result.scenario, mode: result.mode, turnsPerSecondVsMemory: rate / memory)
        }
    }

    public var ok: Bool { results.allSatisfy(\.ok) }

    public func json() throws -> Data {
        let document: [String: Any] = [
            "results": results.map(Self.object),
            "ratios": ratios.map { ["scenario": $0.scenario.rawValue, "mode": $0.mode.rawValue,
                                    "turns_per_second_vs_memory": $0.turnsPerSecondVsMemory] },
            "log_directory": logDirectory,
            "mock": Self.nullable(mockSummary),
        ]
        return try JSONSerialization.data(withJSONObject: document, options: [.prettyPrinted, .sortedKeys])
    }

    static func object(_ result: BenchResult) -> [String: Any] {
        [
            "mode": result.mode.rawValue,
            "scenario": result.scenario.rawValue,
            "sessions": result.sessions,
            "turns_per_session": result.turnsPerSession,
            "warmup_turns": result.warmup,
            "turns": result.turns,
            "errors": result.errors.count,
            "error_samples": Array(result.errors.prefix(5)),
            "wall_seconds": result.wallSeconds,
            "turns_per_second": nullable(result.turnsPerSecond),
            "latency_ms": summary(result.latency),
            "server_cpu_ms_per_turn": nullable(result.serverCPUMsPerTurn),
            "db_cpu_ms_per_turn": nullable(result.databaseCPUMsPerTurn),
            "total_cpu_ms_per_turn": nullable(result.totalCPUMsPerTurn),
            "bench_cpu_ms_per_turn": nullable(result.benchCPUMsPerTurn),
            "mock_cpu_ms_per_turn": nullable(result.mockCPUMsPerTurn),
            "server_cpu_seconds": nullable(result.use.serverCPU),
            "worker_cpu_seconds": nullable(result.use.workerCPU),
            "db_cpu_seconds": nullable(result.use.databaseCPU),
            "bench_cpu_seconds": result.use.benchCPU,
            "rss_idle_mb": nullable(BenchResult.megabytes(result.rssIdleBytes)),
            "rss_before_mb": nullable(BenchResult.megabytes(result.rssBeforeBytes)),
            "rss_after_mb": nullable(BenchResult.megabytes(result.rssAfterBytes)),
            "rss_growth_kib_per_turn": nullable(result.rssGrowthKiBPerTurn),
            "tokens": result.tokens,
            "token_latency_ms": summary(result.tokenLatency),
            "trace_exports": nullable(result.use.traceExports),
            "metrics_scrapes": nullable(result.use.metricsScrapes),
            "sql_statements": nullable(result.use.statements),
            "sql_statements_per_turn": nullable(result.sqlStatementsPerTurn),
            "sql_statements_unavailable": nullable(result.sqlUnavailable),
            "model_calls_per_turn": nullable(result.modelCallsPerTurn),
            "events_per_turn": nullable(result.eventsPerTurn),
            "sse_reconnects": result.reconnects,
            "cut_short": result.cutShort,
            "failure": nullable(result.failure),
            "server_exit": nullable(result.serverExit),
            "worker_exits": result.workerExits,
            "ok": result.ok,
        ]
    }

    static func summary(_ latency: LatencySummary) -> [String: Any] {
        ["p50": nullable(latency.p50), "p90": nullable(latency.p90), "p99": nullable(latency.p99),
         "max": nullable(latency.max), "mean": nullable(latency.mean)]
    }

    static func nullable(_ value: (some Any)?) -> Any { value.map { $0 as Any } ?? NSNull() }
}
