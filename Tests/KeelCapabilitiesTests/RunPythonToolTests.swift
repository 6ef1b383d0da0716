import Foundation
import KeelCore
import Testing
@testable import KeelCapabilities

@Suite("run_python", .enabled(if: SandboxRequirement.available, "bubblewrap cannot run here (reason printed)"), .timeLimit(.minutes(1)))
struct RunPythonToolTests {
    @Test("runs code and captures stdout")
    func printsResult() async throws {
        let result = try await TestSupport.call(RunPythonTool(), ["code": "print(1+1)"])
        #expect(result == ["exit_code": 0, "stdout": "2\n", "stderr": "", "truncated": false])
    }

    @Test("the snippet runs inside bubblewrap as the second process of its own PID namespace")
    func runsInSandbox() async throws {
        let code = "import os\nprint(os.getpid(), open('/proc/1/cmdline').read().split('\\0')[0])"
        let result = try await TestSupport.call(RunPythonTool(), ["code": .string(code)])
        #expect(result["stdout"] == "2 /usr/bin/bwrap\n", "\(result)")
    }

    @Test("captures a nonzero exit code and stderr")
    func nonzeroExit() async throws {
        let result = try await TestSupport.call(RunPythonTool(), ["code": "import sys\nsys.stderr.write('boom')\nsys.exit(3)"])
        #expect(result["exit_code"] == 3)
        #expect(result["stderr"] == "boom")
        let crash = try await TestSupport.call(RunPythonTool(), ["code": "raise ValueError('bad')"])
        #expect(crash["exit_code"] == 1)
        #expect(crash["stderr"]?.stringValue?.contains("ValueError: bad") == true)
    }

    @Test("kills an endless loop when the time limit passes")
    func timeout() async {
        let tool = RunPythonTool(configuration: PythonConfiguration(timeout: .seconds(1)))
        let start = ContinuousClock.now
        let message = await TestSupport.toolErrorMessage { _ = try await TestSupport.call(tool, ["code": "while True: pass"]) }
        #expect(message == "timed out after 1s")
        #expect(ContinuousClock.now - start < .seconds(20))  // the loop never ends; loose for a loaded machine
    }

    @Test("caps each stream without deadlocking on large output")
    func outputLimit() async throws {
        let tool = RunPythonTool(configuration: PythonConfiguration(outputLimit: 1000))
        let code = "import sys\nsys.stderr.write('e' * 500000)\nprint('x' * 2000000)"
        let result = try await TestSupport.call(tool, ["code": .string(code)])
        #expect(result["exit_code"] == 0)
        #expect(result["stdout"]?.stringValue == String(repeating: "x", count: 1000))
        #expect(result["stderr"]?.stringValue == String(repeating: "e", count: 1000))
        #expect(result["truncated"] == true)
    }

    @Test("sees only PATH, HOME and LANG, and starts in an empty private scratch directory")
    func isolation() async throws {
        setenv("KEEL_TEST_SECRET", "hunter2", 1)
        let code = "import os\nprint(sorted(os.environ))\nprint(os.getcwd())\nprint(os.listdir('.'))\nopen('left-behind', 'w').write('x')"
        let tool = RunPythonTool()
        let result = try await TestSupport.call(tool, ["code": .string(code)])
        #expect(result["stdout"] == "['HOME', 'LANG', 'PATH', 'PWD']\n/tmp/scratch\n[]\n", "\(result)")
        let again = try await TestSupport.call(tool, ["code": "import os\nprint(os.listdir('.'))"])
        #expect(again["stdout"] == "[]\n")
    }

    @Test("cancelling the calling task kills the process promptly")
    func cancellation() async throws {
        let tool = RunPythonTool(configuration: PythonConfiguration(timeout: .seconds(30)))
        let marker = "keel-cancel-\(UUID().uuidString)"
        let start = ContinuousClock.now
        let task = Task { try await TestSupport.call(tool, ["code": .string("# \(marker)\nwhile True: pass")]) }
        // Cancel a process that runs, not a call still setting up.
        try await TestSupport.waitForProcess(containing: marker)
        task.cancel()
        let outcome = await task.result
        #expect(ContinuousClock.now - start < .seconds(15))  // the 30 s time limit did not end it; loose for a loaded machine
        #expect(throws: CancellationError.self) { try outcome.get() }
    }

    @Test("rejects missing code")
    func missingCode() async {
        let message = await TestSupport.toolErrorMessage { _ = try await TestSupport.call(RunPythonTool(), [:]) }
        #expect(message == "run_python: missing required argument 'code'")
    }

    @Test("reports a missing interpreter")
    func missingInterpreter() async {
        let tool = RunPythonTool(configuration: PythonConfiguration(executable: "python3-that-does-not-exist"))
        let message = await TestSupport.toolErrorMessage { _ = try await TestSupport.call(tool, ["code": "print(1)"]) }
        #expect(message?.contains("not installed") == true)
    }
}
