/// The counters the benchmark reads just before and just after the measured phase; their
/// differences are what the phase cost. CPU seconds come from /proc (the server, each worker,
/// every process named `postgres` — the cluster is expected to be private to the benchmark —
/// and the mock), the benchmark's own from getrusage, statements from `pg_stat_statements`.
struct ResourceSnapshot: Sendable {
    var turnProcessCPU: [Int32: Double]
    var postgresCPU: [Int32: Double]?
    var mockCPU: Double?
    var benchCPU: Double
    var statements: Int64?
    var mock: MockOpenAIStats.Snapshot?

    static func take(_ deployment: Deployment, mock: MockProcess?) async -> ResourceSnapshot {
        // The slow readers first, so the CPU figures bracket the phase as tightly as they can.
        let statements = await deployment.database?.statementCount()
        let mockStats = await mock?.stats()
        return ResourceSnapshot(
            turnProcessCPU: ProcStat.cpuSeconds(pids: deployment.processes.map(\.pid)),
            postgresCPU: deployment.database == nil ? nil : ProcStat.cpuSeconds(pids: ProcStat.pids(named: "postgres")),
            mockCPU: mock.flatMap { ProcStat.cpuSeconds(pid: $0.process.pid) },
            benchCPU: ProcStat.ownCPUSeconds(), statements: statements, mock: mockStats)
    }

    /// What each counter grew by from `before` to `self`.
    func since(_ before: ResourceSnapshot, deployment: Deployment) -> ResourceUse {
        func grown(_ after: Double?, _ before: Double?) -> Double? {
            guard let after, let before else { return nil }
            return after - before
        }
        let server = deployment.server.pid
        let workers = deployment.workers.map(\.pid)
        return ResourceUse(
            serverCPU: grown(turnProcessCPU[server], before.turnProcessCPU[server]),
            workerCPU: workers.isEmpty ? nil : workers.compactMap { grown(turnProcessCPU[$0], before.turnProcessCPU[$0]) }.reduce(0, +),
            databaseCPU: postgresCPU.flatMap { after in
                // A backend started during the phase counts whole; one that ended is lost.
                after.isEmpty ? nil : after.reduce(0) { $0 + $1.value - (before.postgresCPU?[$1.key] ?? 0) }
            },
            mockCPU: grown(mockCPU, before.mockCPU),
            benchCPU: benchCPU - before.benchCPU,
            statements: statements.flatMap { after in before.statements.map { after - $0 } },
            modelCalls: mock.flatMap { after in before.mock.map { after.chatCompletions - $0.chatCompletions } },
            traceExports: mock.flatMap { after in before.mock.map { after.traceExports - $0.traceExports } })
    }
}

/// What the measured phase cost, in CPU seconds and counts; nil where it could not be read.
public struct ResourceUse: Sendable, Equatable {
    public var serverCPU: Double?
    public var workerCPU: Double?
    public var databaseCPU: Double?
    public var mockCPU: Double?
    public var benchCPU: Double
    public var statements: Int64?
    public var modelCalls: Int?
    /// OTLP export requests the mock's sink received (`memory-traced`).
    public var traceExports: Int?
    /// `GET /metrics` scrapes answered 200 (`memory-traced`).
    public var metricsScrapes: Int?

    public init(
        serverCPU: Double? = nil, workerCPU: Double? = nil, databaseCPU: Double? = nil, mockCPU: Double? = nil,
        benchCPU: Double = 0, statements: Int64? = nil, modelCalls: Int? = nil, traceExports: Int? = nil
    ) {
        self.serverCPU = serverCPU
        self.workerCPU = workerCPU
        self.databaseCPU = databaseCPU
        self.mockCPU = mockCPU
        self.benchCPU = benchCPU
        self.statements = statements
        self.modelCalls = modelCalls
        self.traceExports = traceExports
    }
}
