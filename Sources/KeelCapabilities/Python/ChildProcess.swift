import KeelCore
import Foundation
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// One spawned child process, started and waited for on a thread of its own.
///
/// The dedicated thread matters twice: waiting blocks, so it must stay off the Swift concurrency
/// pool, and bubblewrap's `--die-with-parent` (a parent-death signal) fires when the *thread*
/// that spawned it ends — a pool thread retired while idle would kill a running sandbox, while
/// this thread lives exactly as long as the child. Completion is the process's exit
/// (`waitid`/`waitpid`), never end-of-file on its pipes, which a descendant could hold open.
final class ChildProcess: Sendable {
    enum Termination: Sendable, Equatable {
        /// Exit status, or minus the signal number that killed the process.
        case exited(Int32)
        case failedToStart(String)
        /// Killed, but not reported gone within `killGrace`; given up on (the thread still reaps it).
        case abandoned
    }

    private enum State {
        case starting(killRequested: Bool)
        case running(pid_t)
        case exited
    }

    /// How long a kill may take to show as an exit before the caller stops waiting.
    static let killGrace: Duration = .seconds(1)

    private let state = Mutex(State.starting(killRequested: false))
    private let termination = FirstOutcome<Termination>()
    private let killedFlag = Atomic<Bool>(false)

    /// Spawns `executable` with stdout and stderr on the given write ends, which it closes (in
    /// the server) once the child has its copies.
    init(executable: String, arguments: [String], environment: [String], stdout: Int32, stderr: Int32) {
        let thread = Thread { [self] in
            let pid: pid_t
            do {
                defer { close(stdout); close(stderr) }
                pid = try PosixSpawn.spawn(executable: executable, arguments: arguments, environment: environment, stdout: stdout, stderr: stderr)
            } catch {
                state.withLock { $0 = .exited }
                termination.complete(.failedToStart("\(error)"))
                return
            }
            let killNow = state.withLock { state -> Bool in
                defer { state = .running(pid) }
                if case .starting(let killRequested) = state { return killRequested }
                return false
            }
            if killNow { killpg(pid, SIGKILL) }
            PosixSpawn.awaitExit(pid)
            // From here on no signal may be sent: once reaped, the id can belong to someone else.
            state.withLock { $0 = .exited }
            termination.complete(.exited(PosixSpawn.reap(pid)))
        }
        thread.name = "keel-child-process"
        thread.start()
    }

    /// True once `kill()` has been called.
    var wasKilled: Bool { killedFlag.load(ordering: .relaxed) }

    /// `SIGKILL` to the child's process group (untrusted code can ignore anything milder). Safe
    /// to call at any time, any number of times.
    func kill() {
        killedFlag.store(true, ordering: .relaxed)
        let pid = state.withLock { state -> pid_t? in
            switch state {
            case .starting: state = .starting(killRequested: true); return nil
            case .running(let pid): return pid
            case .exited: return nil
            }
        }
        if let pid { killpg(pid, SIGKILL) }
        // A bound that does not depend on the kernel reporting the exit promptly.
        let termination = self.termination
        DispatchQueue.global().asyncAfter(deadline: .now() + .milliseconds(Self.killGrace.wholeMilliseconds)) {
            termination.complete(.abandoned)
        }
    }

    func terminated() async -> Termination {
        await termination.value()
    }
}
