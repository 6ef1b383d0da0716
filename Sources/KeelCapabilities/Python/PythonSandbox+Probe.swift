import Foundation
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

extension PythonSandbox {
    /// Time a probe may take before the host is declared unable to sandbox.
    static let probeTimeLimit: Duration = .seconds(10)

    private static let probed = Mutex<[PythonConfiguration: Result<PythonSandbox, PythonSandboxUnavailable>]>([:])

    /// The sandbox for `configuration`, checked once per process by running a trivial program in
    /// it: a host without bubblewrap, or whose kernel refuses user namespaces, has no sandbox,
    /// and then `run_python` is not offered at all rather than run unsandboxed.
    static func availability(for configuration: PythonConfiguration) -> Result<PythonSandbox, PythonSandboxUnavailable> {
        if let known = probed.withLock({ $0[configuration] }) { return known }
        // Probed outside the lock (it blocks for a fraction of a second); a concurrent duplicate
        // probe is harmless.
        let result = make(configuration).flatMap { sandbox in
            probe(sandbox).map { .failure($0) } ?? .success(sandbox)
        }
        probed.withLock { $0[configuration] = result }
        return result
    }

    /// Runs `print('sandbox-ok')` in the sandbox; the reason it failed, or `nil`.
    static func probe(_ sandbox: PythonSandbox) -> PythonSandboxUnavailable? {
        let marker = "sandbox-ok"
        let (executable, arguments) = sandbox.command(["-I", "-c", "print('\(marker)')"])
        let stdout: (read: Int32, write: Int32)
        let stderr: (read: Int32, write: Int32)
        do {
            stdout = try PosixSpawn.makePipe()
            stderr = try PosixSpawn.makePipe()
        } catch {
            return PythonSandboxUnavailable(error.description)
        }
        defer { close(stdout.read); close(stderr.read) }
        let pid: pid_t
        do {
            defer { close(stdout.write); close(stderr.write) }
            pid = try PosixSpawn.spawn(executable: executable, arguments: arguments, environment: [], stdout: stdout.write, stderr: stderr.write)
        } catch {
            return PythonSandboxUnavailable(error.description)
        }
        let deadline = ContinuousClock.now + probeTimeLimit
        var status: Int32 = 0
        while waitpid(pid, &status, WNOHANG) == 0 {
            guard ContinuousClock.now < deadline else {
                killpg(pid, SIGKILL)
                _ = PosixSpawn.reap(pid)
                return PythonSandboxUnavailable("a trivial sandboxed program did not finish within \(probeTimeLimit)")
            }
            usleep(20_000)
        }
        let output = drain(stdout.read)
        guard status == 0, output == "\(marker)\n" else {
            let message = drain(stderr.read).trimmingCharacters(in: .whitespacesAndNewlines)
            return PythonSandboxUnavailable("bubblewrap could not run a trivial program (exit status \(status >> 8)): \(message.prefix(300))")
        }
        return nil
    }

    /// What a dead child left in a pipe (its write end closed, so this ends).
    private static func drain(_ descriptor: Int32) -> String {
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while bytes.count < 64 << 10 {
            let count = buffer.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
            if count > 0 { bytes += buffer.prefix(count) } else if count < 0, errno == EINTR { continue } else { break }
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}

extension PythonSandboxUnavailable {
    /// Why `run_python` with `configuration` cannot be sandboxed on this host, or `nil` when it
    /// can (probed once per configuration and process).
    public static func probe(_ configuration: PythonConfiguration) -> PythonSandboxUnavailable? {
        if case .failure(let problem) = PythonSandbox.availability(for: configuration) { return problem }
        return nil
    }
}
