import Foundation
import Logging

/// The system under test for one (mode, scenario): a `keel server` on a free loopback port, in
/// the postgres modes with a fresh database and, for postgres-workers, its `keel worker`
/// processes. `stop` takes it all down again — workers first (they hand back their steps), then
/// the server, then the database — and is safe to call after a failed start.
final class Deployment: Sendable {
    let mode: BenchMode
    let api: BenchAPI
    let server: ChildProcess
    let workers: [ChildProcess]
    let database: BenchDatabase?

    private init(mode: BenchMode, api: BenchAPI, server: ChildProcess, workers: [ChildProcess], database: BenchDatabase?) {
        self.mode = mode
        self.api = api
        self.server = server
        self.workers = workers
        self.database = database
    }

    /// Every process of the deployment that does turn work (the server and its workers).
    var processes: [ChildProcess] { [server] + workers }

    static func start(
        mode: BenchMode, scenario: BenchScenario, options: BenchOptions, collectorURL: String?,
        api makeAPI: (String) -> BenchAPI, logDirectory: String, logger: Logger
    ) async throws -> Deployment {
        var database: BenchDatabase?
        var started: [ChildProcess] = []
        do {
            if mode.usesPostgres {
                database = try await BenchDatabase.create(admin: try PostgresURL(options.databaseURL ?? ""), logger: logger)
            }
            let plan = ServerEnvironment.Plan(
                mode: mode, scenario: scenario, port: try FreePort.loopback(), databaseURL: database?.url.text,
                workerPort: try FreePort.loopback(), workerToken: RandomText.hex(bytes: 24),
                embeddedExecutors: options.embedded, collectorURL: collectorURL)
            let caller = ProcessInfo.processInfo.environment
            let label = "\(mode.rawValue)-\(scenario.rawValue)"
            let server = try ChildProcess.spawn(
                name: "keel server (\(label))", executable: options.serverPath, arguments: ["server"],
                environment: ServerEnvironment.server(plan, caller: caller, extra: options.extraEnvironment),
                logPath: "\(logDirectory)/server-\(label).log")
            started.append(server)
            let api = makeAPI("http://127.0.0.1:\(plan.port)")
            try await HealthWait.until(healthy: api, process: server, timeout: .seconds(mode.usesPostgres ? 90 : 30))
            if mode == .postgresWorkers {
                for index in 0..<options.workers {
                    started.append(
                        try ChildProcess.spawn(
                            name: "keel worker \(index) (\(label))", executable: options.serverPath, arguments: ["worker"],
                            environment: ServerEnvironment.worker(
                                index: index, plan: plan, tasks: options.workerTasks, caller: caller,
                                extra: options.extraEnvironment),
                            logPath: "\(logDirectory)/worker-\(label)-\(index).log"))
                }
                try await waitForWorkers(Array(started.dropFirst()), port: plan.workerPort, logger: logger)
            }
            return Deployment(mode: mode, api: api, server: server, workers: Array(started.dropFirst()), database: database)
        } catch {
            let leftovers = started
            let database = database
            await uncancelled { _ = await stop(workers: leftovers.dropFirst().map { $0 }, server: leftovers.first, database: database) }
            throw error
        }
    }

    /// Until each worker holds a connection to the server's worker port (or one of them exits).
    private static func waitForWorkers(_ workers: [ChildProcess], port: Int, logger: Logger) async throws {
        let deadline = ContinuousClock.now + .seconds(30)
        while true {
            if let dead = workers.first(where: { !$0.isRunning }) {
                throw BenchError.process(
                    "\(dead.name) \(dead.exitStatus.map(String.init(describing:)) ?? "ended") during start-up; last lines:\n"
                        + LogTail.lines(30, of: dead.logPath))
            }
            let connected = ProcStat.establishedConnections(localPort: port)
            if connected >= workers.count { return }
            if ContinuousClock.now >= deadline {
                logger.warning("only \(connected) connection(s) on the worker port after 30 s, \(workers.count) workers")
                return
            }
            try await Task.sleep(for: .milliseconds(100))
        }
    }

    /// Stops everything; returns how each process ended and any clean-up problem.
    func stop() async -> StopReport {
        await Self.stop(workers: workers, server: server, database: database)
    }

    private static func stop(workers: [ChildProcess], server: ChildProcess?, database: BenchDatabase?) async -> StopReport {
        var report = StopReport()
        report.workerExits = await withTaskGroup(of: (Int, ExitStatus).self) { group in
            for (index, worker) in workers.enumerated() { group.addTask { (index, await worker.stop()) } }
            var exits: [(Int, ExitStatus)] = []
            for await exit in group { exits.append(exit) }
            return exits.sorted { $0.0 < $1.0 }.map(\.1)
        }
        report.serverExit = await server?.stop()
        if let database, let problem = await database.drop() { report.problems.append(problem) }
        return report
    }

    struct StopReport: Sendable {
        var serverExit: ExitStatus?
        var workerExits: [ExitStatus] = []
        var problems: [String] = []
    }
}
