import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// A real `keel worker` process (the binary `swift build --build-tests` built), for tests that
/// kill workers the hard way.
final class WorkerProcess: @unchecked Sendable {
    let process: Process
    let logFile: URL

    static let token = "test-worker-token"

    static func start(port: Int, token: String? = WorkerProcess.token, extra: [String: String] = [:]) throws -> WorkerProcess {
        try #require(FileManager.default.isExecutableFile(atPath: CLIStartupTests.binary.path), "build keel first")
        let process = Process()
        process.executableURL = CLIStartupTests.binary
        process.arguments = ["worker"]
        var environment = [
            "PATH": "/usr/bin:/bin", "WORKER_GRPC_ADDRESS": "127.0.0.1:\(port)", "WORKER_HEARTBEAT_INTERVAL_SECS": "0.3",
            "WORKER_GRPC_CONNECT_TIMEOUT": "20", "LOG_LEVEL": "info", "LOG_FORMAT": "text",
            "WEB_FETCH_ALLOW_PRIVATE_ADDRESSES": "true", "DEPLOYMENT_GRADE": "dev",
        ]
        if let token { environment["WORKER_GRPC_AUTH_TOKEN"] = token }
        environment.merge(extra) { $1 }
        process.environment = environment
        let logFile = FileManager.default.temporaryDirectory.appendingPathComponent("keel-worker-\(UUID().uuidString).log")
        _ = FileManager.default.createFile(atPath: logFile.path, contents: nil)
        let handle = try FileHandle(forWritingTo: logFile)
        process.standardError = handle
        process.standardOutput = handle
        try process.run()
        return WorkerProcess(process: process, logFile: logFile)
    }

    private init(process: Process, logFile: URL) {
        self.process = process
        self.logFile = logFile
    }

    /// A test that throws half-way must not leave a worker behind.
    deinit {
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
    }

    var log: String { (try? String(contentsOf: logFile, encoding: .utf8)) ?? "" }

    /// SIGKILL: no chance to hand anything back.
    func kill9() {
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }

    /// SIGTERM and wait (bounded) for a graceful exit; returns the exit status.
    @discardableResult
    func terminate(within limit: Duration = .seconds(15)) async -> Int32 {
        if process.isRunning { kill(process.processIdentifier, SIGTERM) }
        let deadline = ContinuousClock.now + limit
        while process.isRunning && ContinuousClock.now < deadline { try? await Task.sleep(for: .milliseconds(20)) }
        if process.isRunning { kill9() }
        return process.terminationStatus
    }

    /// What a worker logs (at debug level) each time the control plane does not answer yet.
    static let unreachableLine = "control plane not reachable yet"

    /// Waits (bounded; the bound only matters when a test fails) until `line` appears `count`
    /// times in the worker's log; false when it did not in time.
    func waitForLog(_ line: String, count: Int = 1, timeout: Duration = .seconds(30)) async -> Bool {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if log.components(separatedBy: line).count - 1 >= count { return true }
            try? await Task.sleep(for: .milliseconds(20))
        }
        return false
    }

    /// Waits (bounded) for the process to exit by itself.
    func waitForExit(within limit: Duration) async -> Int32? {
        let deadline = ContinuousClock.now + limit
        while process.isRunning && ContinuousClock.now < deadline { try? await Task.sleep(for: .milliseconds(20)) }
        return process.isRunning ? nil : process.terminationStatus
    }
}

/// A loopback TCP port that was free a moment ago.
func freeLoopbackPort() throws -> Int {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { throw POSIXError(.EMFILE) }
    defer { close(fd) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = 0
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    let bound = withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) }
    }
    guard bound == 0 else { throw POSIXError(.EADDRINUSE) }
    let named = withUnsafeMutablePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
    }
    guard named == 0 else { throw POSIXError(.EADDRINUSE) }
    return Int(UInt16(bigEndian: address.sin_port))
}
