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
        let logDirectory = try options.logDirectory ?? Self.temporaryDirectory()
        let client = BenchAPI.makeClient(connections: options.sessions * 2 + 8)
        let makeAPI = { BenchAPI(client: client, baseURL: $0) }
        progress("logs in \(logDirectory)")

        var mock: MockProcess?
        var results: [BenchResult] = []
        do {
            if options.scenarios.contains(.tool) {
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
                mode: result.mode, scenario: result.scenario, options: options, api: makeAPI,
                logDirectory: logDirectory, logger: logger)
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
            // The mock's calls and CPU belong to the tool scenario only.
            let provider = result.scenario == .tool ? mock : nil
            let before = await ResourceSnapshot.take(deployment, mock: provider)
            if let outcome = await generator?.measure(turns: options.turns, until: deadline) {
                // Read even when Ctrl-C cut the phase short: what ran is still reported.
                let after = await uncancelled { await ResourceSnapshot.take(deployment, mock: provider) }
                result.record(outcome, use: after.since(before, deployment: deployment))
            }
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
        let path = NSTemporaryDirectory() + "keel-bench-\(RandomText.hex(bytes: 4))"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }
}
