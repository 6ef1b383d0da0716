import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Kills a spawned child and, when it leads its own process group, everything it started.
///
/// Foundation's `Process` spawns children into a new process group, so signalling the group
/// also reaches background processes the code forked; they would otherwise keep running and
/// keep the output pipes open. `SIGKILL` is used because untrusted code can ignore `SIGTERM`.
final class ProcessKiller: Sendable {
    private let pid: pid_t
    private let ownsGroup: Bool
    private let timedOutFlag = Atomic<Bool>(false)

    init(pid: pid_t) {
        self.pid = pid
        self.ownsGroup = getpgid(pid) == pid
    }

    /// True once `timeOut()` has fired.
    var timedOut: Bool { timedOutFlag.load(ordering: .relaxed) }

    func terminate() {
        _ = ownsGroup ? killpg(pid, SIGKILL) : kill(pid, SIGKILL)
    }

    /// Kills because the time limit passed, remembering why.
    func timeOut() {
        timedOutFlag.store(true, ordering: .relaxed)
        terminate()
    }
}
