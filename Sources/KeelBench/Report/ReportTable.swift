import Foundation

/// The fixed-width text table `keel-bench run` prints: one row per (mode, scenario), `-` where a
/// figure could not be measured, then the ratios to memory and any failures and error samples.
public enum ReportTable {
    struct Column: Sendable {
        var title: String
        var width: Int
        var value: @Sendable (BenchResult) -> String
    }

    static let columns: [Column] = [
        Column(title: "mode", width: 17) { $0.mode.rawValue },
        Column(title: "scenario", width: 8) { $0.scenario.rawValue },
        Column(title: "turns", width: 6) { String($0.turns) },
        Column(title: "errors", width: 6) { String($0.errors.count) },
        Column(title: "turns/s", width: 8) { number($0.turnsPerSecond, 1) },
        Column(title: "p50 ms", width: 8) { number($0.latency.p50, 1) },
        Column(title: "p99 ms", width: 8) { number($0.latency.p99, 1) },
        Column(title: "srv ms/t", width: 8) { number($0.serverCPUMsPerTurn, 2) },
        Column(title: "db ms/t", width: 8) { number($0.databaseCPUMsPerTurn, 2) },
        Column(title: "tot ms/t", width: 8) { number($0.totalCPUMsPerTurn, 2) },
        Column(title: "bench ms/t", width: 10) { number($0.benchCPUMsPerTurn, 2) },
        Column(title: "rss idle", width: 8) { number(BenchResult.megabytes($0.rssIdleBytes), 1) },
        Column(title: "rss after", width: 9) { number(BenchResult.megabytes($0.rssAfterBytes), 1) },
        Column(title: "KiB/t", width: 6) { number($0.rssGrowthKiBPerTurn, 1) },
        Column(title: "sql/t", width: 6) { number($0.sqlStatementsPerTurn, 1) },
        Column(title: "llm/t", width: 5) { number($0.modelCallsPerTurn, 1) },
        Column(title: "tok p50", width: 7) { number($0.tokenLatency.p50, 2) },
        Column(title: "tok p99", width: 7) { number($0.tokenLatency.p99, 2) },
    ]

    public static func render(_ report: BenchReport) -> String {
        var lines = [row(columns.map(\.title)), row(columns.map { String(repeating: "-", count: $0.width) })]
        lines += report.results.map { result in row(columns.map { $0.value(result) }) }
        for ratio in report.ratios {
            lines.append(
                "\(ratio.mode.rawValue) vs memory (\(ratio.scenario.rawValue)): "
                    + "\(number(ratio.turnsPerSecondVsMemory, 3))x turns/s")
        }
        for result in report.results {
            let label = "\(result.mode.rawValue)/\(result.scenario.rawValue)"
            if let failure = result.failure { lines.append("\(label): FAILED: \(failure)") }
            if let first = result.errors.first { lines.append("\(label): \(result.errors.count) errors, e.g. \(first)") }
            if result.cutShort { lines.append("\(label): cut short by the duration limit") }
            if let exit = result.serverExit, exit != "exit 0" { lines.append("\(label): server \(exit)") }
            for (index, exit) in result.workerExits.enumerated() where exit != "exit 0" {
                lines.append("\(label): worker \(index) \(exit)")
            }
            if result.mode.usesPostgres, let reason = result.sqlUnavailable { lines.append("\(label): sql/t: \(reason)") }
        }
        return lines.joined(separator: "\n")
    }

    /// Columns right-aligned to their widths, the first two (names) left-aligned.
    static func row(_ cells: [String]) -> String {
        zip(columns.indices, cells).map { index, cell in
            let pad = String(repeating: " ", count: max(0, columns[index].width - cell.count))
            return index < 2 ? cell + pad : pad + cell
        }.joined(separator: " ")
    }

    static func number(_ value: Double?, _ decimals: Int) -> String {
        guard let value, value.isFinite else { return "-" }
        return String(format: "%.\(decimals)f", value)
    }
}
