import Foundation
import Testing
@testable import KeelServer
#if canImport(Glibc)
import Glibc
#endif

/// The server drops secret values from its own environment once read (issue 8, item 3): even
/// someone allowed to read `/proc/<pid>/environ` — which shows the block `execve` wrote, not
/// what `unsetenv` leaves — finds no key there.
@Suite("secret environment scrubbing")
struct SecretEnvironmentTests {
    @Test("secret variable names are recognised; ordinary ones are not")
    func names() {
        for name in [
            "SECRETS_ENCRYPTION_KEY", "SECRETS_ENCRYPTION_KEY_PREVIOUS", "DEFAULT_OPENAI_API_KEY", "DEFAULT_ANTHROPIC_API_KEY",
            "DEFAULT_GEMINI_API_KEY", "DEFAULT_MISTRAL_API_KEY", "WORKER_GRPC_AUTH_TOKEN", "BRAINTRUST_API_KEY", "DATABASE_URL",
            "OTEL_EXPORTER_OTLP_HEADERS", "OTEL_EXPORTER_OTLP_TRACES_HEADERS", "LANGFUSE_SECRET_KEY", "PHOENIX_API_KEY",
        ] {
            #expect(SecretEnvironment.isSecret(name), "\(name)")
        }
        for name in ["PATH", "HOME", "PORT", "OPENAI_BASE_URL", "DEPLOYMENT_GRADE", "LOG_LEVEL"] {
            #expect(!SecretEnvironment.isSecret(name), "\(name)")
        }
    }

    @Test("a running keel server shows no secret in /proc/<pid>/environ")
    func serverEnvironBlock() async throws {
        try #require(FileManager.default.isExecutableFile(atPath: CLIStartupTests.binary.path), "build keel first: swift build")
        let unique = UUID().uuidString
        let key = "kek-v1:" + Data((0..<32).map { _ in UInt8.random(in: 0...255) }).base64EncodedString()
        let previous = "kek-v2:" + Data((0..<32).map { _ in UInt8.random(in: 0...255) }).base64EncodedString()
        let secrets = [
            "SECRETS_ENCRYPTION_KEY": key, "SECRETS_ENCRYPTION_KEY_PREVIOUS": previous,
            "DEFAULT_OPENAI_API_KEY": "sk-openai-\(unique)", "DEFAULT_ANTHROPIC_API_KEY": "sk-ant-\(unique)",
            "DEFAULT_GEMINI_API_KEY": "gemini-\(unique)",
        ]
        let plain = "plain-\(unique)"
        let process = Process()
        process.executableURL = CLIStartupTests.binary
        process.arguments = ["server"]
        process.environment = [
            "PATH": "/usr/bin:/bin", "PORT": "0", "HOST": "127.0.0.1", "DEV_MODE": "1", "LOG_FORMAT": "text",
            "KEEL_TEST_PLAIN": plain,
        ].merging(secrets) { $1 }
        let log = FileManager.default.temporaryDirectory.appendingPathComponent("keel-environ-\(UUID().uuidString).log")
        _ = FileManager.default.createFile(atPath: log.path, contents: nil)
        defer { try? FileManager.default.removeItem(at: log) }
        process.standardError = try FileHandle(forWritingTo: log)
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        defer {
            if process.isRunning { kill(process.processIdentifier, SIGKILL) }
            process.waitUntilExit()
        }
        // "starting keel" is logged after the configuration was read and the environment scrubbed.
        let deadline = ContinuousClock.now + .seconds(30)
        while process.isRunning, ContinuousClock.now < deadline,
              !((try? String(contentsOf: log, encoding: .utf8)) ?? "").contains("starting keel") {
            try await Task.sleep(for: .milliseconds(20))
        }
        try #require(process.isRunning, "the server exited: \((try? String(contentsOf: log, encoding: .utf8)) ?? "")")
        let environ = try #require(FileManager.default.contents(atPath: "/proc/\(process.processIdentifier)/environ"))
        let text = String(decoding: environ, as: UTF8.self)
        #expect(text.contains("KEEL_TEST_PLAIN=\(plain)"), "the block read is the server's")
        for (name, value) in secrets {
            #expect(!text.contains(value), "\(name) is still in /proc/<pid>/environ")
        }
    }
}
