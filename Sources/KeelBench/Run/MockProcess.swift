import Foundation

/// The OpenAI mock as the `tool` and `stream` scenarios (and `memory-traced`'s OTLP sink) run it: `keel-bench mock-openai` started again from this
/// executable on a free loopback port, so the server's provider calls cross a real HTTP connection
/// to another process, and its CPU is not the benchmark's.
struct MockProcess: Sendable {
    let process: ChildProcess
    let api: BenchAPI

    static func start(options: BenchOptions, api makeAPI: (String) -> BenchAPI, logDirectory: String) async throws -> MockProcess {
        let port = try FreePort.loopback()
        let process = try ChildProcess.spawn(
            name: "mock-openai", executable: options.benchExecutable,
            arguments: [
                "mock-openai", "--host", "127.0.0.1", "--port", String(port), "--text-chunks", String(options.mockTextChunks),
                "--stream-pieces", String(options.streamPieces),
                "--stream-interval-ms", String(Int(options.streamInterval.milliseconds)),
            ],
            environment: ServerEnvironment.base(ProcessInfo.processInfo.environment),
            logPath: logDirectory + "/mock-openai.log")
        let mock = MockProcess(process: process, api: makeAPI("http://127.0.0.1:\(port)"))
        do {
            try await HealthWait.until(healthy: mock.api, process: process, timeout: .seconds(30))
        } catch {
            _ = await uncancelled { await process.stop() }
            throw error
        }
        return mock
    }

    /// The provider's `base_url` for the server.
    var baseURL: String { api.baseURL + "/v1" }

    /// The OTLP/HTTP sink's base URL (`/v1/traces` and Langfuse's path under it).
    var collectorURL: String { api.baseURL }

    /// The mock's counters, or nil if it does not answer.
    func stats() async -> MockOpenAIStats.Snapshot? {
        guard let response = try? await api.client.execute(api.request(.GET, "/stats"), timeout: .seconds(5)),
            let body = try? await response.body.collect(upTo: 1 << 16)
        else { return nil }
        return try? JSONDecoder().decode(MockOpenAIStats.Snapshot.self, from: Data(body.readableBytesView))
    }
}
