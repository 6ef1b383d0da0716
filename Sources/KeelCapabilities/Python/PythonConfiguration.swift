import Foundation

/// Limits of the experimental `run_python` tool.
public struct PythonConfiguration: Sendable, Hashable {
    /// Resource limits applied inside the sandbox (`setrlimit`, soft = hard, so the code cannot
    /// raise them) and the size of its private `/tmp`.
    public struct Limits: Sendable, Hashable {
        /// CPU seconds per process (`RLIMIT_CPU`); `SIGXCPU`/`SIGKILL` when used up.
        public var cpuSeconds: Int
        /// Address space per process (`RLIMIT_AS`): allocations past it fail (`MemoryError`).
        public var memoryBytes: Int
        /// Largest file a process may write (`RLIMIT_FSIZE`).
        public var fileSizeBytes: Int
        /// Processes (and threads) of the sandbox's user (`RLIMIT_NPROC`): bounds fork bombs.
        public var maxProcesses: Int
        /// Open descriptors per process (`RLIMIT_NOFILE`).
        public var maxOpenFiles: Int
        /// Size of the sandbox's private tmpfs `/tmp` (which holds the working directory); it is
        /// memory, so it is capped separately from the per-process limits.
        public var tmpBytes: Int

        public init(
            cpuSeconds: Int = 10, memoryBytes: Int = 256 << 20, fileSizeBytes: Int = 16 << 20,
            maxProcesses: Int = 16, maxOpenFiles: Int = 64, tmpBytes: Int = 64 << 20
        ) {
            self.cpuSeconds = cpuSeconds
            self.memoryBytes = memoryBytes
            self.fileSizeBytes = fileSizeBytes
            self.maxProcesses = maxProcesses
            self.maxOpenFiles = maxOpenFiles
            self.tmpBytes = tmpBytes
        }
    }

    /// Program name looked up in the system directories (then `PATH`), or an absolute path.
    public var executable: String
    /// Wall-clock limit; the sandbox (and everything in it) is killed when it passes.
    public var timeout: Duration
    /// Bytes kept from each of stdout and stderr; the rest is drained and dropped.
    public var outputLimit: Int
    /// Largest accepted `code` argument. Linux refuses single arguments over 128 KiB, so larger
    /// code would fail with an obscure spawn error rather than a clear message.
    public var maxCodeBytes: Int
    public var limits: Limits

    public init(
        executable: String = "python3", timeout: Duration = .seconds(10), outputLimit: Int = 64 << 10,
        maxCodeBytes: Int = 100_000, limits: Limits = Limits()
    ) {
        self.executable = executable
        self.timeout = timeout
        self.outputLimit = outputLimit
        self.maxCodeBytes = maxCodeBytes
        self.limits = limits
    }

    /// Where interpreters are looked for first: the distribution's own, which the sandbox's
    /// read-only `/usr` contains (a `PATH` entry such as a pyenv shim would not work inside).
    static let systemDirectories = ["/usr/bin", "/bin", "/usr/local/bin"]

    /// The executable's real location (symbolic links resolved), or `nil` when it is not installed.
    func locateExecutable() -> URL? {
        if executable.contains("/") {
            return FileManager.default.isExecutableFile(atPath: executable) ? URL(fileURLWithPath: executable).resolvingSymlinksInPath() : nil
        }
        let serverPath = ProcessInfo.processInfo.environment["PATH"]?.split(separator: ":").map(String.init) ?? []
        for directory in Self.systemDirectories + serverPath where !directory.isEmpty {
            let candidate = URL(fileURLWithPath: directory).appendingPathComponent(executable)
            if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate.resolvingSymlinksInPath() }
        }
        return nil
    }
}
