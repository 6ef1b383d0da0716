#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import Synchronization

/// A process the benchmark started — the `keel` server, a `keel worker`, the OpenAI mock — with its
/// output in a log file.
///
/// Spawned with `posix_spawn` (no fork of this multi-threaded process) in a process group of its
/// own, so a Ctrl-C in the terminal reaches only the benchmark, which then stops its children in
/// order (workers before their server). Signals this process ignores or blocks are reset for the
/// child. `stop` is SIGTERM, then SIGKILL when the grace period runs out.
public final class ChildProcess: Sendable {
    public let name: String
    public let pid: pid_t
    public let logPath: String
    private let exit = Mutex<ExitStatus?>(nil)

    private init(name: String, pid: pid_t, logPath: String) {
        self.name = name
        self.pid = pid
        self.logPath = logPath
    }

    /// Starts `executable arguments…` with exactly `environment` (nothing inherited) and stdout and
    /// stderr appended to `logPath`; stdin is /dev/null.
    public static func spawn(
        name: String, executable: String, arguments: [String], environment: [String: String], logPath: String
    ) throws -> ChildProcess {
        var actions = SpawnActions()
        defer { actions.destroy() }
        actions.open(descriptor: 0, path: "/dev/null", flags: O_RDONLY)
        actions.open(descriptor: 1, path: logPath, flags: O_WRONLY | O_CREAT | O_APPEND)
        actions.duplicate(1, to: 2)
        var attributes = SpawnAttributes()
        defer { attributes.destroy() }

        let argv = ([executable] + arguments).map { strdup($0) }
        let envp = environment.sorted { $0.key < $1.key }.map { strdup("\($0.key)=\($0.value)") }
        defer { (argv + envp).forEach { free($0) } }
        var pid: pid_t = 0
        let status = (argv + [nil]).withUnsafeBufferPointer { argvPointer -> Int32 in
            (envp + [nil]).withUnsafeBufferPointer { envPointer -> Int32 in
                guard let arguments = argvPointer.baseAddress, let variables = envPointer.baseAddress else { return EINVAL }
                return posix_spawn(&pid, executable, &actions.value, &attributes.value, arguments, variables)
            }
        }
        guard status == 0 else {
            throw BenchError.process("cannot start \(name) (\(executable)): \(String(cString: strerror(status)))")
        }
        return ChildProcess(name: name, pid: pid, logPath: logPath)
    }

    /// How the process ended, or nil while it runs (reaps it once it has ended).
    public var exitStatus: ExitStatus? {
        exit.withLock { known in
            if let known { return known }
            var status: Int32 = 0
            guard waitpid(pid, &status, WNOHANG) == pid else { return nil }
            known = ExitStatus(waitStatus: status)
            return known
        }
    }

    public var isRunning: Bool { exitStatus == nil }

    /// SIGTERM, then SIGKILL if it is still running after `grace`; returns how it ended. Polls with
    /// short sleeps, so call it from a task that is not cancelled (see `uncancelled`).
    @discardableResult
    public func stop(grace: Duration = .seconds(15)) async -> ExitStatus {
        if let ended = exitStatus { return ended }
        kill(pid, SIGTERM)
        let deadline = ContinuousClock.now + grace
        while ContinuousClock.now < deadline {
            if let ended = exitStatus { return ended }
            try? await Task.sleep(for: .milliseconds(20))
        }
        if let ended = exitStatus { return ended }
        kill(pid, SIGKILL)
        var status: Int32 = 0
        while waitpid(pid, &status, 0) == -1, errno == EINTR {}
        let ended = ExitStatus.killed(afterGrace: grace)
        exit.withLock { $0 = ended }
        return ended
    }
}

/// How a child process ended.
public enum ExitStatus: Sendable, Equatable, CustomStringConvertible {
    case exited(Int32)
    case signalled(Int32)
    case killed(afterGrace: Duration)

    init(waitStatus status: Int32) {
        // WIFEXITED / WEXITSTATUS / WTERMSIG are C macros Swift does not import.
        let signal = status & 0x7f
        self = signal == 0 ? .exited((status >> 8) & 0xff) : .signalled(signal)
    }

    public var description: String {
        switch self {
        case .exited(let code): "exit \(code)"
        case .signalled(let signal): "signal \(signal)"
        case .killed(let grace): "killed: still running \(grace) after SIGTERM"
        }
    }
}
