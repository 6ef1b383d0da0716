#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation

/// What Linux's /proc says about a process: CPU seconds (utime + stime of `/proc/<pid>/stat`, in
/// clock ticks), resident memory (`VmRSS` of `/proc/<pid>/status`), and which processes are named
/// `postgres` (`/proc/<pid>/comm`) — plus this process's own CPU from `getrusage`. Readers return
/// nil where /proc has no answer (the process is gone, or this is not Linux).
public enum ProcStat {
    static let ticksPerSecond: Double = {
        let ticks = sysconf(Int32(_SC_CLK_TCK))
        return ticks > 0 ? Double(ticks) : 100
    }()

    public static func cpuSeconds(pid: Int32) -> Double? {
        read("/proc/\(pid)/stat").flatMap(cpuTicks(statLine:)).map { Double($0) / ticksPerSecond }
    }

    public static func residentBytes(pid: Int32) -> Int? {
        read("/proc/\(pid)/status").flatMap(vmRSSBytes(status:))
    }

    /// Every process whose command name is `name` (the kernel's 15-character `comm`).
    public static func pids(named name: String) -> [Int32] {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        return entries.compactMap { entry in
            guard let pid = Int32(entry), let comm = read("/proc/\(pid)/comm") else { return nil }
            return comm.trimmingCharacters(in: .whitespacesAndNewlines) == name ? pid : nil
        }
    }

    /// CPU seconds of each of `pids` that is still there.
    public static func cpuSeconds(pids: [Int32]) -> [Int32: Double] {
        var seconds: [Int32: Double] = [:]
        for pid in pids { seconds[pid] = cpuSeconds(pid: pid) }
        return seconds
    }

    /// This process's user + system CPU seconds.
    public static func ownCPUSeconds() -> Double {
        var usage = rusage()
        #if canImport(Glibc)
        getrusage(__rusage_who_t(RUSAGE_SELF.rawValue), &usage)
        #else
        getrusage(RUSAGE_SELF, &usage)
        #endif
        func seconds(_ time: timeval) -> Double { Double(time.tv_sec) + Double(time.tv_usec) / 1_000_000 }
        return seconds(usage.ru_utime) + seconds(usage.ru_stime)
    }

    /// utime + stime (fields 14 and 15) of a `/proc/<pid>/stat` line. The command name (field 2)
    /// may hold spaces and parentheses, so fields are counted after its last `)`.
    static func cpuTicks(statLine: String) -> Int? {
        guard let close = statLine.lastIndex(of: ")") else { return nil }
        let fields = statLine[statLine.index(after: close)...].split(separator: " ")
        // After the name: state is field 3, so utime (14) and stime (15) are at offsets 11 and 12.
        guard fields.count > 12, let user = Int(fields[11]), let system = Int(fields[12]) else { return nil }
        return user + system
    }

    /// `VmRSS:   12345 kB` of a `/proc/<pid>/status` file, in bytes.
    static func vmRSSBytes(status: String) -> Int? {
        for line in status.split(separator: "\n") where line.hasPrefix("VmRSS:") {
            let parts = line.split(separator: " ", omittingEmptySubsequences: true)
            guard parts.count >= 2, let kilobytes = Int(parts[1]) else { return nil }
            return kilobytes * 1024
        }
        return nil
    }

    /// Reads to the end: /proc files report size 0, and String(contentsOfFile:) stops after the
    /// first page of the longer ones (/proc/net/tcp).
    static func read(_ path: String) -> String? {
        guard let handle = FileHandle(forReadingAtPath: path) else { return nil }
        defer { try? handle.close() }
        return (try? handle.readToEnd()).map { String(decoding: $0, as: UTF8.self) }
    }
}

extension ProcStat {
    /// ESTABLISHED TCP connections whose local port is `port` (the server side of each), from
    /// /proc/net/tcp and tcp6: how the benchmark sees its workers connected to the server.
    public static func establishedConnections(localPort port: Int) -> Int {
        ["/proc/net/tcp", "/proc/net/tcp6"].reduce(0) { total, table in
            total + (read(table).map { established(in: $0, localPort: port) } ?? 0)
        }
    }

    static func established(in table: String, localPort port: Int) -> Int {
        table.split(separator: "\n").dropFirst().filter { line in
            let fields = line.split(separator: " ", omittingEmptySubsequences: true)
            guard fields.count > 3, fields[3] == "01", let local = fields[1].split(separator: ":").last else { return false }
            return Int(local, radix: 16) == port
        }.count
    }
}
