#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// The `posix_spawn` file actions and attributes `ChildProcess` uses, wrapped because their C
/// types differ between Glibc (structs) and Darwin (opaque pointers).
struct SpawnActions {
    #if canImport(Darwin)
    var value: posix_spawn_file_actions_t? = nil
    #else
    var value = posix_spawn_file_actions_t()
    #endif

    init() { posix_spawn_file_actions_init(&value) }

    mutating func open(descriptor: Int32, path: String, flags: Int32) {
        posix_spawn_file_actions_addopen(&value, descriptor, path, flags, 0o644)
    }

    mutating func duplicate(_ descriptor: Int32, to target: Int32) {
        posix_spawn_file_actions_adddup2(&value, descriptor, target)
    }

    mutating func destroy() { posix_spawn_file_actions_destroy(&value) }
}

/// A new process group for the child, an empty signal mask, and default handling of the signals
/// this process may ignore (SIGINT and SIGTERM while `SignalTrap` holds them, SIGPIPE).
struct SpawnAttributes {
    #if canImport(Darwin)
    var value: posix_spawnattr_t? = nil
    #else
    var value = posix_spawnattr_t()
    #endif

    init() {
        posix_spawnattr_init(&value)
        var defaults = sigset_t()
        sigemptyset(&defaults)
        for signal in [SIGINT, SIGTERM, SIGPIPE, SIGHUP] { sigaddset(&defaults, signal) }
        posix_spawnattr_setsigdefault(&value, &defaults)
        var mask = sigset_t()
        sigemptyset(&mask)
        posix_spawnattr_setsigmask(&value, &mask)
        posix_spawnattr_setpgroup(&value, 0)
        let flags = Int32(POSIX_SPAWN_SETPGROUP) | Int32(POSIX_SPAWN_SETSIGDEF) | Int32(POSIX_SPAWN_SETSIGMASK)
        posix_spawnattr_setflags(&value, Int16(flags))
    }

    mutating func destroy() { posix_spawnattr_destroy(&value) }
}
