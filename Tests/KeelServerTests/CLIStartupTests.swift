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

    static func run(_ environment: [String: String]) throws -> Run {
        let process = Process()
        process.executableURL = binary
        process.arguments = ["server"]
        process.environment = ["PATH": "/usr/bin:/bin", "PORT": "0", "HOST": "127.0.0.1"].merging(environment) { $1 }
        let stderr = Pipe()
        process.standardError = stderr
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        let data = stderr.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return Run(status: process.terminationStatus, stderr: String(decoding: data, as: UTF8.self))
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
    func malformed(environment: [String: String], variable: String) throws {
        try #require(FileManager.default.isExecutableFile(atPath: Self.binary.path), "build keel first: swift build")
        let run = try Self.run(environment)
        #expect(run.status == 2)
        let lines = run.stderr.split(separator: "\n")
        #expect(lines.count == 1, "\(run.stderr)")
        #expect(lines.first?.contains(variable) == true, "\(run.stderr)")
        #expect(!run.stderr.contains("c2hvcnQ="), "never echo key material")
    }
}
