/// Everything one `keel-bench run` needs, as the command line gave it (see `keel-bench run --help`).
public struct BenchOptions: Sendable {
    public var modes: [BenchMode] = [.memory]
    public var scenarios: [BenchScenario] = BenchScenario.allCases
    /// The `keel` binary to start.
    public var serverPath = ".build/release/keel"
    /// An admin URL for the postgres modes (a fresh database is created on its server per run).
    public var databaseURL: String?
    public var sessions = 10
    public var turns = 40
    public var warmup = 2
    /// In-process step executors in postgres-embedded mode.
    public var embedded = 4
    /// `keel worker` processes in postgres-workers mode, and the steps each runs at once.
    public var workers = 2
    public var workerTasks = 10
    public var turnTimeout: Duration = .seconds(60)
    /// The whole run's bound: the measured phase stops issuing turns shortly before it.
    public var durationLimit: Duration = .seconds(600)
    /// Content chunks of each mock text answer.
    public var mockTextChunks = 8
    /// The `stream` scenario's answer: time-stamped pieces, paced.
    public var streamPieces = 20
    public var streamInterval: Duration = .milliseconds(5)
    /// How often `memory-traced` scrapes `GET /metrics` while it measures, as Prometheus would.
    public var scrapeInterval: Duration = .seconds(1)
    /// Extra `KEY=VALUE` settings for the server and workers (after the benchmark's own).
    public var extraEnvironment: [String: String] = [:]
    /// Where the children's logs go; a new temporary directory when nil.
    public var logDirectory: String?
    /// This program, started again as `mock-openai` for the tool scenario.
    public var benchExecutable = ExecutablePath.current()

    public init() {}

    /// Whether the run needs the OpenAI mock (as a provider, or as the OTLP sink).
    var needsMock: Bool {
        scenarios.contains(where: \.usesMock) || modes.contains(.memoryTraced)
    }

    public func validate() throws {
        for (name, value) in [("sessions", sessions), ("turns", turns), ("embedded", embedded), ("workers", workers),
                              ("worker-tasks", workerTasks), ("text-chunks", mockTextChunks),
                              ("stream-pieces", streamPieces)] where value < 1 {
            throw BenchError.usage("--\(name) must be at least 1 (got \(value))")
        }
        if streamInterval < .zero { throw BenchError.usage("--stream-interval-ms must not be negative") }
        if scrapeInterval <= .zero { throw BenchError.usage("--scrape-interval must be at least 1") }
        if warmup < 0 { throw BenchError.usage("--warmup must not be negative") }
        if modes.isEmpty || scenarios.isEmpty { throw BenchError.usage("nothing to run: no modes or no scenarios") }
        if modes.contains(where: \.usesPostgres), databaseURL?.isEmpty ?? true {
            throw BenchError.usage(
                "the postgres modes need --database-url (or KEEL_TEST_DATABASE_URL; scripts/bench starts a private cluster)")
        }
    }
}
