import Foundation

/// Limits of the experimental `run_python` tool.
public struct PythonConfiguration: Sendable, Hashable {
    /// Program name looked up in `PATH`, or an absolute path.
    public var executable: String
    /// Wall-clock limit; the process group is killed when it passes.
    public var timeout: Duration
    /// Bytes kept from each of stdout and stderr; the rest is drained and dropped.
    public var outputLimit: Int
    /// Largest accepted `code` argument. Linux refuses single arguments over 128 KiB, so larger
    /// code would fail with an obscure spawn error rather than a clear message.
    public var maxCodeBytes: Int

    public init(executable: String = "python3", timeout: Duration = .seconds(10), outputLimit: Int = 64 << 10, maxCodeBytes: Int = 100_000) {
        self.executable = executable
        self.timeout = timeout
        self.outputLimit = outputLimit
        self.maxCodeBytes = maxCodeBytes
    }

    /// The `PATH` handed to the child: the server's own, so the interpreter and the tools it
    /// shells out to are found, but nothing else of the server's environment (API keys!).
    static var searchPath: String {
        ProcessInfo.processInfo.environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin"
    }

    /// The executable's absolute location, or `nil` when it is not installed.
    func locateExecutable() -> URL? {
        if executable.contains("/") {
            return FileManager.default.isExecutableFile(atPath: executable) ? URL(fileURLWithPath: executable) : nil
        }
        for directory in Self.searchPath.split(separator: ":") where !directory.isEmpty {
            let candidate = URL(fileURLWithPath: String(directory)).appendingPathComponent(executable)
            if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate }
        }
        return nil
    }
}
