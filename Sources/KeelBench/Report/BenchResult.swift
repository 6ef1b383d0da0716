/// One (mode, scenario) run of the benchmark: what was asked, what happened, what it cost — and
/// the per-turn figures the report shows, derived here so the table and the JSON agree.
public struct BenchResult: Sendable {
    public var mode: BenchMode
    public var scenario: BenchScenario
    public var sessions: Int
    public var turnsPerSession: Int
    public var warmup: Int

    /// Measured turns that ended with `turn.completed`.
    public var turns = 0
    public var errors: [String] = []
    public var wallSeconds: Double = 0
    public var latency = LatencySummary(milliseconds: [])
    /// Per streamed token, provider write to client read (the `stream` scenario; empty otherwise).
    public var tokenLatency = LatencySummary(milliseconds: [])
    public var tokens = 0
    public var use = ResourceUse()
    public var rssIdleBytes: Int?
    /// The server's RSS just before the measured phase (after warm-up) and right after it.
    public var rssBeforeBytes: Int?
    public var rssAfterBytes: Int?
    /// Why `sql_statements_per_turn` is null (no database, or no pg_stat_statements).
    public var sqlUnavailable: String?
    public var streamEvents = 0
    public var reconnects = 0
    /// The duration limit stopped the measured phase early.
    public var cutShort = false
    /// Why the run could not be done (start-up, setup or warm-up failed, or it was cancelled).
    public var failure: String?
    public var serverExit: String?
    public var workerExits: [String] = []

    public init(mode: BenchMode, scenario: BenchScenario, sessions: Int, turnsPerSession: Int, warmup: Int) {
        self.mode = mode
        self.scenario = scenario
        self.sessions = sessions
        self.turnsPerSession = turnsPerSession
        self.warmup = warmup
    }

    /// Folds in the measured phase: its outcome and what it cost.
    public mutating func record(_ outcome: LoadOutcome, use: ResourceUse) {
        turns = outcome.latencies.count
        errors = outcome.errors
        wallSeconds = outcome.wall.seconds
        latency = LatencySummary(outcome.latencies)
        tokenLatency = LatencySummary(outcome.tokenLatencies)
        tokens = outcome.tokenLatencies.count
        self.use = use
        streamEvents = outcome.streamEvents
        reconnects = outcome.reconnects
        cutShort = outcome.cutShort
    }

    public var turnsPerSecond: Double? { wallSeconds > 0 ? Double(turns) / wallSeconds : nil }

    /// The server's and its workers' CPU per turn: the cost of Keel itself.
    public var serverCPUMsPerTurn: Double? {
        guard let server = use.serverCPU else { return nil }
        return perTurn((server + (use.workerCPU ?? 0)) * 1000)
    }

    public var databaseCPUMsPerTurn: Double? { use.databaseCPU.flatMap { perTurn($0 * 1000) } }

    /// Server + database: what a turn costs the deployment.
    public var totalCPUMsPerTurn: Double? {
        guard let server = serverCPUMsPerTurn else { return nil }
        return server + (databaseCPUMsPerTurn ?? 0)
    }

    public var benchCPUMsPerTurn: Double? { perTurn(use.benchCPU * 1000) }
    public var mockCPUMsPerTurn: Double? { use.mockCPU.flatMap { perTurn($0 * 1000) } }
    public var sqlStatementsPerTurn: Double? { use.statements.flatMap { perTurn(Double($0)) } }
    public var modelCallsPerTurn: Double? {
        scenario.usesMock ? use.modelCalls.flatMap { perTurn(Double($0)) } : nil
    }
    public var eventsPerTurn: Double? { perTurn(Double(streamEvents)) }
    public var traceExportsPerTurn: Double? { use.traceExports.flatMap { perTurn(Double($0)) } }

    /// How much the server's RSS grew per measured turn, in KiB (what a turn kept in memory).
    public var rssGrowthKiBPerTurn: Double? {
        guard let before = rssBeforeBytes, let after = rssAfterBytes else { return nil }
        return perTurn(Double(after - before) / 1024)
    }

    public var ok: Bool {
        failure == nil && errors.isEmpty && turns > 0 && !cutShort && serverExit == "exit 0"
            && workerExits.allSatisfy { $0 == "exit 0" }
    }

    private func perTurn(_ total: Double) -> Double? {
        turns > 0 ? total / Double(turns) : nil
    }

    static func megabytes(_ bytes: Int?) -> Double? { bytes.map { Double($0) / 1_048_576 } }
}
