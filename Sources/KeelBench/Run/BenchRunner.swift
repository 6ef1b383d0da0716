import AsyncHTTPClient
import Foundation
import Logging

/// One `keel-bench run`: for each mode and scenario, start the deployment, set up its sessions,
/// warm up, measure, stop — and report. A (mode, scenario) that fails is reported as failed and
/// the run goes on with the next; cancellation (Ctrl-C, the duration limit) ends the run early,
/// with everything started stopped and every database dropped.
public struct BenchRunner: Sendable {
    public let options: BenchOptions
    public let logger: Logger

    public init(options: BenchOptions, logger: Logger) {
        self.options = options
        self.logger = logger
    }

    public func run() async throws -> BenchReport {
        try options.validate()
        let started = ContinuousClock.now
        let limit = options.durationLimit
        // The measured phase stops issuing turns a margin before the limit, to leave time to stop.
        let loadDeadline = started + limit - min(.seconds(60), limit / 4)
        let logDirectory = try options.logDirectory.map(Self.directory) ?? Self.temporaryDirectory()
        let client = BenchAPI.makeClient(connections: options.sessions * 2 + 8)
        let makeAPI = { BenchAPI(client: client, baseURL: $0) }
        progress("logs in \(logDirectory)")

        var mock: MockProcess?
        var results: [BenchResult] = []
        do {
            if options.needsMock {
                mock = try await MockProcess.start(options: options, api: makeAPI, logDirectory: logDirectory)
            }
            for mode in options.modes {
                for scenario in options.scenarios {
                    var result = BenchResult(
                        mode: mode, scenario: scenario, sessions: options.sessions, turnsPerSession: options.turns,
                        warmup: options.warmup)
                    if Task.isCancelled {
                        result.failure = "not run: cancelled"
                    } else if ContinuousClock.now + .seconds(20) >= loadDeadline {
                        result.failure = "not run: the duration limit (\(limit)) is near"
                    } else {
                        result = await runOne(result, mock: mock, api: makeAPI, logDirectory: logDirectory, until: loadDeadline)
                    }
                    results.append(result)
                }
            }
        } catch {
            progress("error: \(error)")
            await finish(mock: mock, client: client)
            throw error
        }
        let summary = await mock?.stats()?.summary
        await finish(mock: mock, client: client)
        if let summary { progress("mock-openai: \(summary)") }
        return BenchReport(results: results, logDirectory: logDirectory, mockSummary: summary)
    }

    private func runOne(
        _ planned: BenchResult, mock: MockProcess?, api makeAPI: (String) -> BenchAPI, logDirectory: String,
        until deadline: ContinuousClock.Instant
    ) async -> BenchResult {
        var result = planned
        let label = "\(result.mode.rawValue)/\(result.scenario.rawValue)"
        let deployment: Deployment
        do {
            progress("\(label): starting the server")
            deployment = try await Deployment.start(
                mode: result.mode, scenario: result.scenario, options: options, collectorURL: mock?.collectorURL,
                api: makeAPI, logDirectory: logDirectory, logger: logger)
        } catch {
            result.failure = Task.isCancelled ? "cancelled" : "\(error)"
            progress("\(label): \(result.failure ?? "")")
            return result
        }
        result.sqlUnavailable = deployment.database == nil ? "no database (memory mode)" : deployment.database?.unavailable
        var generator: LoadGenerator?
        do {
            let sessions = try await ScenarioSetup.sessions(
                options.sessions, scenario: result.scenario, api: deployment.api, mockBaseURL: mock?.baseURL)
            generator = try await LoadGenerator.open(
                api: deployment.api, sessionIDs: sessions, text: result.scenario.message, turnTimeout: options.turnTimeout)
            result.rssIdleBytes = ProcStat.residentBytes(pid: deployment.server.pid)
            progress("\(label): \(options.sessions) sessions, \(options.warmup) warm-up turns each")
            try await generator?.warmUp(turns: options.warmup, until: deadline)
            progress("\(label): measuring \(options.turns) turns per session")
            // The mock's calls and CPU belong to the scenarios that use it, and to the traced mode's sink.
            let traced = result.mode == .memoryTraced
            let provider = result.scenario.usesMock || traced ? mock : nil
            result.rssBeforeBytes = ProcStat.residentBytes(pid: deployment.server.pid)
            let before = await ResourceSnapshot.take(deployment, mock: provider)
            if var measuring = generator {
                let (outcome, scrapes) = await MetricsScraper.scraping(
                    deployment.api, every: options.scrapeInterval, enabled: traced
                ) { await measuring.measure(turns: options.turns, until: deadline) }
                // Read even when Ctrl-C cut the phase short: what ran is still reported.
                let after = await uncancelled { await ResourceSnapshot.take(deployment, mock: provider) }
                var use = after.since(before, deployment: deployment)
                use.metricsScrapes = traced ? scrapes : nil
                result.record(outcome, use: use)
                generator = measuring
            }
            result.failure = result.failure ?? Self.missingMeasure(of: result)
            result.rssAfterBytes = ProcStat.residentBytes(pid: deployment.server.pid)
            if Task.isCancelled { result.failure = "cancelled" }
        } catch {
            result.failure = Task.isCancelled ? "cancelled" : "\(error)"
        }
        generator?.close()
        let stopped = await uncancelled { await deployment.stop() }
        result.serverExit = stopped.serverExit.map(String.init(describing:))
        result.workerExits = stopped.workerExits.map(String.init(describing:))
        for problem in stopped.problems { progress("\(label): \(problem)") }
        if !result.ok, !Task.isCancelled { showLogs(of: deployment, label: label) }
        progress(
            "\(label): \(result.turns) turns, \(result.errors.count) errors in "
                + "\(ReportTable.number(result.wallSeconds, 1)) s; server \(result.serverExit ?? "?")")
        return result
    }

    /// A phase whose scenario or mode measures something that never arrived did not measure it.
    static func missingMeasure(of result: BenchResult) -> String? {
        guard result.turns > 0 else { return nil }
        if result.scenario == .stream, result.tokens == 0 {
            return "no time-stamped token arrived in an output.message.delta frame"
        }
        if result.mode == .memoryTraced, (result.use.traceExports ?? 0) == 0 {
            return "the server exported no spans to the OTLP sink during the measured phase"
        }
        if result.mode == .memoryTraced, (result.use.metricsScrapes ?? 0) == 0 {
            return "no GET /metrics scrape was answered with 200"
        }
        return nil
    }

    private func finish(mock: MockProcess?, client: HTTPClient) async {
        await uncancelled {
            if let mock { await mock.process.stop() }
            try? await client.shutdown()
        }
    }

    private func showLogs(of deployment: Deployment, label: String) {
        for process in deployment.processes {
            progress("\(label): last lines of \(process.name)'s log (\(process.logPath)):\n" + LogTail.lines(40, of: process.logPath))
        }
    }

    private func progress(_ line: String) {
        FileHandle.standardError.write(Data("keel-bench: \(line)\n".utf8))
    }

    static func temporaryDirectory() throws -> String {
        try directory(NSTemporaryDirectory() + "keel-bench-\(RandomText.hex(bytes: 4))")
    }

    /// `path`, created with its parents if missing.
    static func directory(_ path: String) throws -> String {
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }
}
