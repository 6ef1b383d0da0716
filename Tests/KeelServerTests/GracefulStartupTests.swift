import Foundation
import Testing

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// A TCP port on 127.0.0.1 that accepts connections (the kernel completes the handshake) and
/// never answers: a Braintrust API or a PostgreSQL server that hangs.
final class BlackHoleListener: @unchecked Sendable {
    let port: Int
    private let descriptor: Int32

    init() throws {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard descriptor >= 0 else { throw POSIXError(.EIO) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = 0
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0, listen(descriptor, 16) == 0 else {
            close(descriptor)
            throw POSIXError(.EADDRINUSE)
        }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(descriptor, $0, &length) }
        }
        self.descriptor = descriptor
        port = Int(UInt16(bigEndian: address.sin_port))
    }

    deinit { close(descriptor) }
}

/// SIGTERM while start-up waits on the network (a slow Braintrust project lookup, a database that
/// does not answer) must be an ordinary graceful shutdown: that work runs inside the services'
/// `run()`, after the lifecycle has installed its signal handlers, not while the application is
/// being built (where SIGTERM killed the process).
@Suite("keel server: SIGTERM during start-up")
struct GracefulStartupTests {
    struct Exit {
        var reason: Process.TerminationReason
        var status: Int32
        var stderr: String
        /// The log as it was when SIGTERM was sent.
        var beforeSignal: String
        var afterSignal: Duration
    }

    /// Starts `keel server`, waits (bounded) for `line` in its log, sends SIGTERM and waits (bounded)
    /// for the exit.
    static func terminate(_ environment: [String: String], after line: String) async throws -> Exit {
        let process = Process()
        process.executableURL = CLIStartupTests.binary
        process.arguments = ["server"]
        process.environment = ["PATH": "/usr/bin:/bin", "PORT": "0", "HOST": "127.0.0.1", "LOG_FORMAT": "text"]
            .merging(environment) { $1 }
        let log = FileManager.default.temporaryDirectory.appendingPathComponent("keel-sigterm-\(UUID().uuidString).log")
        _ = FileManager.default.createFile(atPath: log.path, contents: nil)
        defer { try? FileManager.default.removeItem(at: log) }
        process.standardError = try FileHandle(forWritingTo: log)
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        func output() -> String { (try? String(contentsOf: log, encoding: .utf8)) ?? "" }

        // Before the fix the line never came while the lookup or the warm-up was pending.
        let started = ContinuousClock.now + .seconds(30)
        while process.isRunning, !output().contains(line), ContinuousClock.now < started {
            try await Task.sleep(for: .milliseconds(20))
        }
        let beforeSignal = output()
        let reached = beforeSignal.contains(line)
        let signalled = ContinuousClock.now
        if process.isRunning { kill(process.processIdentifier, SIGTERM) }
        let deadline = signalled + .seconds(15)
        while process.isRunning, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(20)) }
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            while process.isRunning { try await Task.sleep(for: .milliseconds(20)) }
        }
        #expect(reached, "never logged \(line): \(output())")
        return Exit(
            reason: process.terminationReason, status: process.terminationStatus, stderr: output(), beforeSignal: beforeSignal,
            afterSignal: ContinuousClock.now - signalled)
    }

    @Test("SIGTERM while the Braintrust project lookup hangs exits promptly and cleanly")
    func braintrustLookup() async throws {
        try #require(FileManager.default.isExecutableFile(atPath: CLIStartupTests.binary.path), "build keel first: swift build")
        let braintrust = try BlackHoleListener()
        let exit = try await Self.terminate(
            [
                "DEV_MODE": "1", "BRAINTRUST_API_KEY": "sk-bt-test",
                "BRAINTRUST_API_URL": "http://127.0.0.1:\(braintrust.port)",
            ],
            // The HTTP listener is up while the lookup (10 s of retries) is still pending.
            after: "Server started and listening")
        #expect(exit.reason == .exit, "\(exit.stderr)")
        #expect(exit.status == 0, "\(exit.stderr)")
        // Not held for the rest of the lookup's 10 s of retries (started before the signal):
        // this bound cannot be much looser and still tell the two apart.
        #expect(exit.afterSignal < .seconds(5), "\(exit.stderr)")
        #expect(!exit.stderr.contains("Braintrust listener initialized"))
    }

    @Test("SIGTERM while PostgreSQL does not answer exits promptly and cleanly")
    func databaseWarmUp() async throws {
        try #require(FileManager.default.isExecutableFile(atPath: CLIStartupTests.binary.path), "build keel first: swift build")
        let database = try BlackHoleListener()
        let key = "kek-v1:" + Data(repeating: 0x33, count: 32).base64EncodedString()
        let exit = try await Self.terminate(
            [
                "DATABASE_URL": "postgres://keel:keel@127.0.0.1:\(database.port)/keel?sslmode=disable",
                "SECRETS_ENCRYPTION_KEY": key, "WORKER_GRPC_AUTH_TOKEN": "token", "WORKER_GRPC_ADDR": "127.0.0.1:0",
                "DURABLE_EMBEDDED_EXECUTORS": "0", "AUTH_MODE": "none",
            ],
            after: "connecting to PostgreSQL")
        #expect(exit.reason == .exit, "\(exit.stderr)")
        #expect(exit.status == 0, "\(exit.stderr)")
        // A database that never answers would hold it until the SIGKILL at 15 s; loose for a loaded machine.
        #expect(exit.afterSignal < .seconds(10), "\(exit.stderr)")
        #expect(!exit.beforeSignal.contains("Server started and listening"), "no request is served before the schema")
    }

    @Test("SIGTERM with Prometheus metrics and span export on is a clean exit 0")
    func metricsSamplerAndExportStopCleanly() async throws {
        try #require(FileManager.default.isExecutableFile(atPath: CLIStartupTests.binary.path), "build keel first: swift build")
        // Before the fix the metrics sampler's sleep threw CancellationError out of its service on
        // shutdown: exit status 1, the group cancelled, and the span queues dropped unflushed.
        let exit = try await Self.terminate(
            ["DEV_MODE": "1", "ENABLE_PROMETHEUS_METRICS": "true", "OTEL_TARGETS": "CONSOLE", "LOG_LEVEL": "info"],
            after: "Server started and listening")
        #expect(exit.reason == .exit, "\(exit.stderr)")
        #expect(exit.status == 0, "\(exit.stderr)")
        #expect(!exit.stderr.contains("CancellationError"), "\(exit.stderr)")
    }
}
