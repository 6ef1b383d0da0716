import ArgumentParser
import Foundation
import KeelBench
import Logging

/// The `keel-bench` command: `run` drives a real `keel` binary through its HTTP API and reports
/// throughput, latency and cost per turn; `mock-openai` is the OpenAI-protocol provider the `tool`
/// scenario talks to (started by `run` itself as a separate process). The work is in KeelBench.
@main
struct KeelBenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "keel-bench", abstract: "Keel's load generator and OpenAI-protocol mock (docs/performance.md).",
        subcommands: [RunCommand.self, MockOpenAICommand.self])
}

struct RunCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Benchmark turns through the HTTP API: turns/s, latency, CPU, RSS and SQL statements per turn.")

    @Option(help: "Comma list of memory, memory-traced, postgres-embedded, postgres-workers.") var modes = "memory"
    @Option(
        help: "Comma list of sim (the built-in model), tool (the OpenAI mock calling test_math's add) and stream (paced, time-stamped tokens).")
    var scenarios = "sim,tool"
    @Option(help: "The keel binary.") var server = ".build/release/keel"
    @Option(help: "Admin URL of the PostgreSQL server for the postgres modes (default: $KEEL_TEST_DATABASE_URL).")
    var databaseURL: String?
    @Option(help: "Concurrent sessions.") var sessions = 10
    @Option(help: "Measured turns per session.") var turns = 40
    @Option(help: "Unmeasured turns per session first.") var warmup = 2
    @Option(help: "In-process step executors (postgres-embedded).") var embedded = 4
    @Option(help: "keel worker processes (postgres-workers).") var workers = 2
    @Option(help: "Steps each worker runs at once (MAX_CONCURRENT_TASKS).") var workerTasks = 10
    @Option(help: "Seconds a turn may take before it counts as an error.") var turnTimeout = 60
    @Option(help: "Seconds the whole run may take.") var durationLimit = 600
    @Option(help: "Content chunks of each mock text answer.") var textChunks = 8
    @Option(help: "Time-stamped tokens of each stream-scenario answer.") var streamPieces = 20
    @Option(help: "Milliseconds between those tokens.") var streamIntervalMs = 5
    @Option(help: "Seconds between /metrics scrapes in memory-traced mode.") var scrapeInterval = 1
    @Option(help: "KEY=VALUE for the server and workers (repeatable), e.g. DATABASE_MAX_CONNECTIONS=20.")
    var serverEnv: [String] = []
    @Option(help: "Directory for the servers' and workers' logs (default: a new temporary directory).")
    var logDir: String?
    @Option(help: "Also write the results as JSON to this file.") var json: String?

    func run() async throws {
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = .warning
            return handler
        }
        let options = try makeOptions()
        let runner = BenchRunner(options: options, logger: Logger(label: "keel-bench"))
        let task = Task { try await runner.run() }
        let trap = SignalTrap { _ in
            FileHandle.standardError.write(Data("keel-bench: stopping (again to quit at once)\n".utf8))
            task.cancel()
        }
        let guardTask = Task {
            try await Task.sleep(for: options.durationLimit)
            FileHandle.standardError.write(Data("keel-bench: duration limit reached, stopping\n".utf8))
            task.cancel()
        }
        defer {
            guardTask.cancel()
            withExtendedLifetime(trap) {}
        }
        let report: BenchReport
        do {
            report = try await task.value
        } catch let error as BenchError {
            FileHandle.standardError.write(Data("keel-bench: \(error)\n".utf8))
            throw ExitCode(2)
        }
        print(ReportTable.render(report))
        if let json {
            try report.json().write(to: URL(fileURLWithPath: json))
            FileHandle.standardError.write(Data("keel-bench: results written to \(json)\n".utf8))
        }
        if !report.ok { throw ExitCode(1) }
    }

    private func makeOptions() throws -> BenchOptions {
        var options = BenchOptions()
        options.modes = try BenchMode.list(modes)
        options.scenarios = try BenchScenario.list(scenarios)
        options.serverPath = server
        options.databaseURL = databaseURL ?? ProcessInfo.processInfo.environment["KEEL_TEST_DATABASE_URL"]
        options.sessions = sessions
        options.turns = turns
        options.warmup = warmup
        options.embedded = embedded
        options.workers = workers
        options.workerTasks = workerTasks
        options.turnTimeout = .seconds(turnTimeout)
        options.durationLimit = .seconds(durationLimit)
        options.mockTextChunks = textChunks
        options.streamPieces = streamPieces
        options.streamInterval = .milliseconds(streamIntervalMs)
        options.scrapeInterval = .seconds(scrapeInterval)
        options.logDirectory = logDir
        for setting in serverEnv {
            guard let equals = setting.firstIndex(of: "="), equals != setting.startIndex else {
                throw ValidationError("--server-env wants KEY=VALUE (got \(setting))")
            }
            options.extraEnvironment[String(setting[..<equals])] = String(setting[setting.index(after: equals)...])
        }
        guard FileManager.default.isExecutableFile(atPath: server) else {
            throw ValidationError("\(server) is not an executable: build it (swift build -c release --product keel) or pass --server")
        }
        return options
    }
}

struct MockOpenAICommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mock-openai",
        abstract: "Serve a deterministic OpenAI Chat Completions mock (streaming, tool calls, usage).")

    @Option(help: "Address to listen on.") var host = "127.0.0.1"
    @Option(help: "Port to listen on (0: any free port, printed at start).") var port: Int
    @Option(help: "Content chunks of each text answer.") var textChunks = 8
    @Option(help: "Time-stamped pieces answering a 'keel-bench stream' message.") var streamPieces = 20
    @Option(help: "Milliseconds between those pieces.") var streamIntervalMs = 5
    @Flag(help: "Print nothing (no start line, no counters at exit).") var quiet = false

    func run() async throws {
        let quiet = quiet
        var logger = Logger(label: "keel-bench.mock-openai")
        logger.logLevel = quiet ? .critical : .warning
        let server = MockOpenAIServer(
            textChunks: max(1, textChunks), streamPieces: max(1, streamPieces),
            streamInterval: .milliseconds(max(0, streamIntervalMs)))
        let host = host
        try await server.run(host: host, port: port, logger: logger) { bound in
            if !quiet { say("mock-openai: listening on http://\(host):\(bound)/v1") }
        }
        if !quiet { say("mock-openai: served \(server.stats.snapshot.summary)") }
    }

    /// Unbuffered, so a log file shows the line at once.
    private func say(_ line: String) {
        FileHandle.standardOutput.write(Data((line + "\n").utf8))
    }
}
