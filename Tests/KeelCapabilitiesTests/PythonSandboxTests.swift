import Foundation
import KeelCore
import Testing
@testable import KeelCapabilities

#if canImport(Glibc)
import Glibc
#endif

/// Whether this host can run the sandbox; when it cannot, the suites that need it are skipped
/// and the reason is printed once.
enum SandboxRequirement {
    static let problem: PythonSandboxUnavailable? = {
        let problem = PythonSandboxUnavailable.probe(PythonConfiguration())
        if let problem { print("run_python sandbox tests skipped: \(problem.reason)") }
        return problem
    }()

    static var available: Bool { problem == nil }
}

/// Escapes an attacker would try from inside `run_python` (issue 8, item 3). Each test fails on
/// the old plain-subprocess implementation.
@Suite("run_python sandbox", .enabled(if: SandboxRequirement.available, "bubblewrap cannot run here (reason printed)"), .timeLimit(.minutes(1)))
struct PythonSandboxTests {
    /// Runs `code` and returns stdout, requiring a zero exit status.
    func run(_ code: String, _ configuration: PythonConfiguration = PythonConfiguration()) async throws -> String {
        let result = try await TestSupport.call(RunPythonTool(configuration: configuration), ["code": .string(code)])
        #expect(result["exit_code"] == 0, "\(result)")
        return try #require(result["stdout"]?.stringValue)
    }

    /// Host processes whose command line contains `marker` (the program's own text carries it,
    /// so every process it forked does too), polled until none is left or 10 s pass (killed
    /// processes disappear asynchronously; the bound is loose for a loaded machine).
    func survivors(_ marker: String) async throws -> [String] {
        let deadline = ContinuousClock.now + .seconds(10)
        while true {
            let found = try TestSupport.processes(containing: marker)
            if found.isEmpty || ContinuousClock.now > deadline { return found }
            try await Task.sleep(for: .milliseconds(50))
        }
    }

    @Test("the server's environment and processes are invisible: /proc is the sandbox's own")
    func noServerProc() async throws {
        let secret = "keel-secret-\(UUID().uuidString)"
        setenv("KEEL_SANDBOX_TEST_SECRET", secret, 1)
        defer { unsetenv("KEEL_SANDBOX_TEST_SECRET") }
        let code = """
            import os
            everything = ''
            for pid in [p for p in os.listdir('/proc') if p.isdigit()]:
                try: everything += open(f'/proc/{pid}/environ').read()
                except OSError: pass
            everything += open('/proc/1/environ').read() + repr(dict(os.environ))
            print('\(secret)' in everything, os.path.exists('/proc/\(getpid())'), sorted(int(p) for p in os.listdir('/proc') if p.isdigit()) == [1, 2])
            """
        #expect(try await run(code) == "False False True\n")
    }

    @Test("no network: a listener on the host's loopback cannot be reached")
    func noNetwork() async throws {
        try await TestHTTPServer.withServer { _, port in
            let code = """
                import socket
                s = socket.socket()
                s.settimeout(2)
                try:
                    s.connect(('127.0.0.1', \(port)))
                    print('connected')
                except OSError as error:
                    print('blocked')
                """
            let output = try await run(code)
            #expect(output == "blocked\n")
        }
    }

    @Test("files the server can read are not there; the root is read-only")
    func noServerFiles() async throws {
        let marker = "keel-marker-\(UUID().uuidString)"
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("keel-sandbox-\(UUID().uuidString).txt")
        try marker.write(to: file, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: file) }
        let code = """
            import os
            def attempt(action):
                try: return repr(action())
                except OSError as error: return type(error).__name__
            print(attempt(lambda: open('\(file.path)').read()))
            print(attempt(lambda: open('\(FileManager.default.currentDirectoryPath)/Package.swift').read()[:10]))
            print(attempt(lambda: open('/usr/keel-write-test', 'w')))
            print(os.getuid())
            """
        let lines = try await run(code).split(separator: "\n")
        #expect(lines == ["FileNotFoundError", "FileNotFoundError", "OSError", "65534"])
    }

    @Test("fork(); setsid(); fork() cannot outlive the call, and the call does not wait for it")
    func escapedGrandchildDies() async throws {
        let marker = "keel-escape-\(UUID().uuidString)"
        let code = """
            # \(marker)
            import os, time
            if os.fork() == 0:
                os.setsid()
                if os.fork() == 0:
                    time.sleep(30)
                os._exit(0)
            print('parent done')
            """
        let start = ContinuousClock.now
        #expect(try await run(code) == "parent done\n")
        #expect(ContinuousClock.now - start < .seconds(15))  // the grandchild sleeps 30 s; loose for a loaded machine
        #expect(try await survivors(marker) == [])
    }

    @Test("cancel returns promptly and kills an escaped grandchild")
    func cancelWithEscapedGrandchild() async throws {
        let marker = "keel-cancel-\(UUID().uuidString)"
        // The grandchild re-executes itself with "<marker>-grandchild" on its command line, a
        // string the program's own text does not contain (it is split in two there), so the test
        // can see when the grandchild has escaped.
        let code = """
            # \(marker)
            import os, sys, time
            if os.fork() == 0:
                os.setsid()
                if os.fork() == 0:
                    os.execv(sys.executable, [sys.executable, "-c", "import time\\nwhile True: time.sleep(1)", "\(marker)" + "-grandchild"])
                os._exit(0)
            while True: pass
            """
        let tool = RunPythonTool(configuration: PythonConfiguration(timeout: .seconds(30)))
        let task = Task { try await TestSupport.call(tool, ["code": .string(code)]) }
        try await TestSupport.waitForProcess(containing: "\(marker)-grandchild")
        let cancelled = ContinuousClock.now
        task.cancel()
        let outcome = await task.result
        #expect(ContinuousClock.now - cancelled < .seconds(10))  // the 30 s time limit did not end it; loose for a loaded machine
        #expect(throws: CancellationError.self) { try outcome.get() }
        #expect(try await survivors(marker) == [])
    }

    @Test("a timeout kills the whole sandbox, escaped grandchildren included")
    func timeoutKillsEverything() async throws {
        let marker = "keel-timeout-\(UUID().uuidString)"
        let code = """
            # \(marker)
            import os, time
            if os.fork() == 0:
                os.setsid()
                if os.fork() == 0:
                    while True: time.sleep(1)
                os._exit(0)
            time.sleep(60)
            """
        let tool = RunPythonTool(configuration: PythonConfiguration(timeout: .seconds(1)))
        let start = ContinuousClock.now
        let message = await TestSupport.toolErrorMessage { _ = try await TestSupport.call(tool, ["code": .string(code)]) }
        #expect(message == "timed out after 1s")
        #expect(ContinuousClock.now - start < .seconds(20))  // the program would sleep 60 s; loose for a loaded machine
        #expect(try await survivors(marker) == [])
    }

    @Test("a fork bomb stops at the process limit")
    func forkBomb() async throws {
        let code = """
            import os, time
            count = 0
            try:
                for _ in range(200):
                    if os.fork() == 0:
                        time.sleep(3)
                        os._exit(0)
                    count += 1
                print('unbounded', count)
            except BlockingIOError:
                print('stopped', count)
            """
        let configuration = PythonConfiguration(limits: .init(maxProcesses: 8))
        let output = try await run(code, configuration)
        let parts = output.split(separator: " ")
        #expect(parts.first == "stopped", "\(output)")
        #expect((parts.last.flatMap { Int($0.trimmingCharacters(in: .whitespacesAndNewlines)) } ?? 99) < 8, "\(output)")
    }

    @Test("a memory hog gets MemoryError at the memory limit")
    func memoryLimit() async throws {
        let code = """
            try:
                hog = bytearray(512 << 20)
                print('allocated')
            except MemoryError:
                print('MemoryError')
            """
        #expect(try await run(code, PythonConfiguration(limits: .init(memoryBytes: 128 << 20))) == "MemoryError\n")
    }

    @Test("a file cannot grow past the file-size limit, nor /tmp past its size")
    func fileSizeLimit() async throws {
        let code = """
            import os
            def write(path, size):
                try:
                    with open(path, 'wb') as f: f.write(b'x' * size)
                    return 'written'
                except OSError as error:
                    os.remove(path)
                    return error.strerror
            print(write('big', 2 << 20))
            print(write('small', 512 << 10))
            print(write('/tmp/other', 768 << 10))
            """
        let configuration = PythonConfiguration(limits: .init(fileSizeBytes: 1 << 20, tmpBytes: 1 << 20))
        #expect(try await run(code, configuration).split(separator: "\n") == ["File too large", "written", "No space left on device"])
    }

    @Test("no descriptor of the server leaks into the sandbox")
    func noInheritedDescriptors() async throws {
        // Opened without close-on-exec, as careless code elsewhere in the server might.
        let leaked = open("/dev/null", O_RDONLY)
        defer { close(leaked) }
        let code = "import os\nprint(sorted(int(fd) for fd in os.listdir('/proc/self/fd')))"
        #expect(try await run(code) == "[0, 1, 2, 3]\n")
    }
}

@Suite("run_python without a sandbox")
struct PythonSandboxUnavailableTests {
    @Test("the capability is not offered, and asking for it names the reason, never running unsandboxed")
    func notOffered() throws {
        let catalog = CapabilityCatalog(allowExperimental: true, pythonSandboxProblem: { _ in PythonSandboxUnavailable("bwrap is missing") })
        #expect(catalog.capability(id: "python") == nil)
        #expect(catalog.unavailable == ["python": "bwrap is missing"])
        #expect(throws: UnknownCapability("python", unavailableOnHost: true)) { try catalog.resolve(["python"]) }
        #expect(UnknownCapability("python", unavailableOnHost: true).description
            == "capability 'python' is unavailable on this server: it needs a sandbox that cannot be set up on this host")
        // Without experimental capabilities the sandbox is not even probed.
        let production = CapabilityCatalog(allowExperimental: false, pythonSandboxProblem: { _ in Issue.record("probed"); return nil })
        #expect(production.unavailable.isEmpty)
    }

    @Test("a missing bubblewrap or interpreter is reported as unavailable")
    func probeReportsMissingPieces() {
        let problem = PythonSandboxUnavailable.probe(PythonConfiguration(executable: "python3-that-does-not-exist"))
        #expect(problem?.reason.contains("not installed") == true)
    }
}
