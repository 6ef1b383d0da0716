import Foundation
import Testing

/// Runs the real `keel` binary (built by `swift build --build-tests`, which the test command runs
/// first) to check what an operator sees when the configuration is wrong.
@Suite("keel server start-up")
struct CLIStartupTests {
    static var binary: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent(".build/debug/keel")
    }

    struct Run {
        var status: Int32
        var stderr: String
    }

    /// Runs `keel server` until it exits (bounded: 30 s). Waits by polling, never by blocking a
    /// thread of the shared concurrency pool, which the tests running alongside need.
    static func run(_ environment: [String: String]) async throws -> Run {
        let process = Process()
        process.executableURL = binary
        process.arguments = ["server"]
        process.environment = ["PATH": "/usr/bin:/bin", "PORT": "0", "HOST": "127.0.0.1"].merging(environment) { $1 }
        let log = FileManager.default.temporaryDirectory.appendingPathComponent("keel-cli-\(UUID().uuidString).log")
        _ = FileManager.default.createFile(atPath: log.path, contents: nil)
        defer { try? FileManager.default.removeItem(at: log) }
        process.standardError = try FileHandle(forWritingTo: log)
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        let deadline = ContinuousClock.now + .seconds(30)
        while process.isRunning && ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(20)) }
        if process.isRunning { process.terminate() }
        while process.isRunning { try await Task.sleep(for: .milliseconds(20)) }
        return Run(status: process.terminationStatus, stderr: (try? String(contentsOf: log, encoding: .utf8)) ?? "")
    }

    @Test(
        "a malformed value stops start-up with one line naming the variable",
        arguments: [
            (["DEV_MODE": "1", "DEPLOYMENT_GRADE": "staging"], "DEPLOYMENT_GRADE"),
            (["DEV_MODE": "1", "PORT": "ninety"], "PORT"),
            (["DEV_MODE": "1", "SECRETS_ENCRYPTION_KEY": "kek-v1:c2hvcnQ="], "SECRETS_ENCRYPTION_KEY"),
            (["DEV_MODE": "1", "CORS_ALLOWED_ORIGINS": "*"], "CORS_ALLOWED_ORIGINS"),
            (["DEV_MODE": "maybe"], "DEV_MODE"),
            ([:], "DATABASE_URL"),
        ])
    func malformed(environment: [String: String], variable: String) async throws {
        try #require(FileManager.default.isExecutableFile(atPath: Self.binary.path), "build keel first: swift build")
        let run = try await Self.run(environment)
        #expect(run.status == 2)
        let lines = run.stderr.split(separator: "\n")
        #expect(lines.count == 1, "\(run.stderr)")
        #expect(lines.first?.contains(variable) == true, "\(run.stderr)")
        #expect(!run.stderr.contains("c2hvcnQ="), "never echo key material")
    }
}
