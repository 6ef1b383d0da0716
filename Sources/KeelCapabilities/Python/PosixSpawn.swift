import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Starts a program with `posix_spawn` so that it inherits nothing of the server but what is
/// named: stdin from `/dev/null`, stdout and stderr to the given pipes, every other descriptor
/// closed (`posix_spawn_file_actions_addclosefrom_np`, so a descriptor another thread opens
/// without close-on-exec cannot leak either), default signal dispositions, an empty signal mask,
/// exactly the given environment, and a process group of its own (so one `killpg` reaches it).
enum PosixSpawn {
    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    private typealias CloseFrom = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>?, Int32) -> Int32
    private typealias Pipe2 = @convention(c) (UnsafeMutablePointer<Int32>?, Int32) -> Int32

    /// glibc ≥ 2.34 has both, but its headers hide them from Swift (they need `_GNU_SOURCE`).
    private static let closeFrom: CloseFrom? = symbol("posix_spawn_file_actions_addclosefrom_np")
    private static let pipe2: Pipe2? = symbol("pipe2")

    private static func symbol<T>(_ name: String) -> T? {
        guard let handle = dlopen(nil, RTLD_NOW), let address = dlsym(handle, name) else { return nil }
        return unsafeBitCast(address, to: T.self)
    }

    /// Why spawning cannot be made leak-free here, or `nil` when it can.
    static var unsupportedReason: String? {
        closeFrom == nil || pipe2 == nil
            ? "the C library lacks posix_spawn_file_actions_addclosefrom_np or pipe2 (glibc 2.34 or later is needed)"
            : nil
    }

    /// A pipe whose both ends are close-on-exec from the start.
    static func makePipe() throws(Failure) -> (read: Int32, write: Int32) {
        guard let pipe2 else { throw Failure(description: unsupportedReason ?? "pipe2 is missing") }
        var ends: [Int32] = [-1, -1]
        guard pipe2(&ends, O_CLOEXEC) == 0 else { throw Failure(description: "pipe2: \(String(cString: strerror(errno)))") }
        return (ends[0], ends[1])
    }

    /// Spawns `executable` (an absolute path); the caller closes its copies of `stdout`/`stderr`.
    static func spawn(executable: String, arguments: [String], environment: [String], stdout: Int32, stderr: Int32) throws(Failure) -> pid_t {
        guard let closeFrom else { throw Failure(description: unsupportedReason ?? "closefrom is missing") }
        let devNull = open("/dev/null", O_RDONLY | O_CLOEXEC)
        guard devNull >= 0 else { throw Failure(description: "/dev/null: \(String(cString: strerror(errno)))") }
        defer { close(devNull) }

        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, devNull, 0)
        posix_spawn_file_actions_adddup2(&actions, stdout, 1)
        posix_spawn_file_actions_adddup2(&actions, stderr, 2)
        _ = closeFrom(&actions, 3)

        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var noSignals = sigset_t()
        sigemptyset(&noSignals)
        var allSignals = sigset_t()
        sigfillset(&allSignals)
        posix_spawnattr_setsigmask(&attributes, &noSignals)
        posix_spawnattr_setsigdefault(&attributes, &allSignals)
        posix_spawnattr_setpgroup(&attributes, 0)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))

        let argv = cStrings([executable] + arguments)
        let envp = cStrings(environment)
        defer { for pointer in argv + envp { free(pointer) } }
        var pid: pid_t = 0
        let status = posix_spawn(&pid, executable, &actions, &attributes, argv, envp)
        guard status == 0 else { throw Failure(description: "could not start \(executable): \(String(cString: strerror(status)))") }
        return pid
    }

    /// Blocks until `pid` has exited, without reaping it (`WNOWAIT`), so it cannot be confused
    /// with a recycled process id while a kill may still be sent to it.
    static func awaitExit(_ pid: pid_t) {
        var info = siginfo_t()
        while waitid(P_PID, id_t(pid), &info, WEXITED | WNOWAIT) != 0, errno == EINTR {}
    }

    /// Reaps an exited child: its exit status, or minus the signal that killed it.
    static func reap(_ pid: pid_t) -> Int32 {
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 {
            guard errno == EINTR else { return -SIGKILL }
        }
        let signal = status & 0x7f
        return signal == 0 ? (status >> 8) & 0xff : -signal
    }

    /// A NULL-terminated array of `strdup` copies; the caller frees them.
    private static func cStrings(_ strings: [String]) -> [UnsafeMutablePointer<CChar>?] {
        strings.map { strdup($0) } + [nil]
    }
}
