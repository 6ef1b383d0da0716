/// Waits for a freshly started child to answer `GET /health` with 200, watching that it is still
/// running: a child that dies during start-up fails the wait at once, with its log's tail.
enum HealthWait {
    static func until(healthy api: BenchAPI, process: ChildProcess, timeout: Duration) async throws {
        let deadline = ContinuousClock.now + timeout
        while true {
            if let ended = process.exitStatus {
                throw BenchError.process(
                    "\(process.name) \(ended) during start-up; last lines of \(process.logPath):\n"
                        + LogTail.lines(30, of: process.logPath))
            }
            if let response = try? await api.client.execute(api.request(.GET, "/health"), timeout: .seconds(2)) {
                _ = try? await response.body.collect(upTo: 1 << 16)
                if response.status == .ok { return }
            }
            guard ContinuousClock.now < deadline else {
                throw BenchError.process(
                    "\(process.name) not healthy after \(timeout); last lines of \(process.logPath):\n"
                        + LogTail.lines(30, of: process.logPath))
            }
            try await Task.sleep(for: .milliseconds(100))
        }
    }
}
