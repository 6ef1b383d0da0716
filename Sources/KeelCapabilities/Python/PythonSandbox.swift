import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// The bubblewrap (`bwrap`) sandbox every `run_python` program runs in.
///
/// - New user, PID, network, IPC, UTS and cgroup namespaces (`--unshare-all --unshare-user`), no
///   nested user namespaces, all capabilities dropped, a new session (no terminal injection).
/// - A read-only minimal root: `/usr` and its compatibility links, the interpreter's own prefix
///   when it lives elsewhere, and a few `/etc` files the dynamic loader and `time` read. Nothing
///   of the server's files, home or temporary directory is visible.
/// - A fresh `/proc` of the new PID namespace (the server's processes do not exist there), a
///   minimal `/dev`, a private size-capped tmpfs `/tmp` holding the working directory.
/// - An environment of `PATH`, `HOME` and `LANG` only; bubblewrap itself is started with an empty
///   one, since `/proc/1/environ` inside shows its environment.
/// - When the server runs as root, bubblewrap is started as `nobody` (`setpriv`): the kernel
///   never applies `RLIMIT_NPROC` to root, so a fork bomb would otherwise be unbounded.
/// - rlimits (soft = hard) on CPU, address space, file size, processes and descriptors, set by
///   util-linux `prlimit` just before the interpreter runs.
/// - `--die-with-parent`: the sandbox dies with the server. The sandbox's init is PID 1 of its
///   namespace; when it dies (the program ended, or bubblewrap was killed) the kernel kills every
///   process in the namespace, so `fork(); setsid(); fork()` cannot escape.
struct PythonSandbox: Sendable, Hashable {
    var bubblewrap: String
    /// Set when the server runs as root: the program that drops to `nobody` first.
    var setpriv: String?
    var prlimit: String
    var interpreter: String
    var limits: PythonConfiguration.Limits
    var timeout: Duration

    /// The sandbox's identity, inside and (when the server is root) outside: `nobody`.
    static let sandboxUser = "65534"
    static let workingDirectory = "/tmp/scratch"
    static let environment = ["PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": "/tmp", "LANG": "C.UTF-8"]
    /// Top-level links or directories a merged-`/usr` (or not) system needs besides `/usr`.
    static let rootCompatibilityPaths = ["/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32"]
    static let etcFiles = ["/etc/ld.so.cache", "/etc/localtime", "/etc/alternatives"]

    /// The program to spawn and its arguments.
    func command(_ interpreterArguments: [String]) -> (executable: String, arguments: [String]) {
        var bwrap = [
            "--unshare-all", "--unshare-user", "--disable-userns", "--die-with-parent", "--new-session",
            "--uid", Self.sandboxUser, "--gid", Self.sandboxUser, "--hostname", "sandbox", "--cap-drop", "ALL",
            "--ro-bind", "/usr", "/usr",
        ]
        let fileManager = FileManager.default
        for path in Self.rootCompatibilityPaths {
            if let target = try? fileManager.destinationOfSymbolicLink(atPath: path) {
                bwrap += ["--symlink", target, path]
            } else if fileManager.fileExists(atPath: path) {
                bwrap += ["--ro-bind", path, path]
            }
        }
        for path in Self.etcFiles { bwrap += ["--ro-bind-try", path, path] }
        if let prefix = interpreterPrefix { bwrap += ["--ro-bind", prefix, prefix] }
        bwrap += [
            "--proc", "/proc", "--dev", "/dev",
            "--size", String(limits.tmpBytes), "--tmpfs", "/tmp", "--dir", Self.workingDirectory, "--chdir", Self.workingDirectory,
            "--clearenv",
        ]
        for (name, value) in Self.environment.sorted(by: { $0.key < $1.key }) { bwrap += ["--setenv", name, value] }
        let cpuSeconds = min(limits.cpuSeconds, Int(timeout.components.seconds) + 1)
        let rlimits = [
            prlimit, "--cpu=\(cpuSeconds)", "--as=\(limits.memoryBytes)", "--fsize=\(limits.fileSizeBytes)",
            "--nproc=\(limits.maxProcesses)", "--nofile=\(limits.maxOpenFiles)", "--core=0", "--",
        ]
        let inner = ["--"] + rlimits + [interpreter] + interpreterArguments
        if let setpriv {
            return (setpriv, ["--reuid=\(Self.sandboxUser)", "--regid=\(Self.sandboxUser)", "--clear-groups", "--", bubblewrap] + bwrap + inner)
        }
        return (bubblewrap, bwrap + inner)
    }

    /// The directory to mount for an interpreter outside `/usr` (such as pyenv's
    /// `…/versions/3.12.1/bin/python3.12` → `…/versions/3.12.1`).
    var interpreterPrefix: String? {
        guard !interpreter.hasPrefix("/usr/") else { return nil }
        let prefix = URL(fileURLWithPath: interpreter).deletingLastPathComponent().deletingLastPathComponent().path
        return prefix == "/" ? nil : prefix
    }

    /// The sandbox for `configuration` on this host, or why there is none.
    static func make(_ configuration: PythonConfiguration) -> Result<PythonSandbox, PythonSandboxUnavailable> {
        if let reason = PosixSpawn.unsupportedReason { return .failure(PythonSandboxUnavailable(reason)) }
        guard let bubblewrap = systemProgram("bwrap") else {
            return .failure(PythonSandboxUnavailable("bubblewrap (bwrap) is not installed; install the Debian package bubblewrap"))
        }
        guard let prlimit = systemProgram("prlimit") else {
            return .failure(PythonSandboxUnavailable("prlimit (util-linux) is not installed"))
        }
        var setpriv: String?
        if geteuid() == 0 {
            guard let found = systemProgram("setpriv") else {
                return .failure(PythonSandboxUnavailable("the server runs as root and setpriv (util-linux) is not installed to drop to nobody"))
            }
            setpriv = found
        }
        guard let interpreter = configuration.locateExecutable() else {
            return .failure(PythonSandboxUnavailable("\(configuration.executable) is not installed"))
        }
        return .success(PythonSandbox(
            bubblewrap: bubblewrap, setpriv: setpriv, prlimit: prlimit, interpreter: interpreter.path,
            limits: configuration.limits, timeout: configuration.timeout))
    }

    private static func systemProgram(_ name: String) -> String? {
        for directory in ["/usr/bin", "/bin", "/usr/sbin", "/sbin"] {
            let path = "\(directory)/\(name)"
            if FileManager.default.isExecutableFile(atPath: path) { return path }
        }
        return nil
    }
}

/// Why `run_python` cannot run on this host.
public struct PythonSandboxUnavailable: Error, Sendable, Hashable, CustomStringConvertible {
    public var reason: String
    public init(_ reason: String) { self.reason = reason }
    public var description: String { reason }
}
