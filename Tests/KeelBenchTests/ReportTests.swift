import Foundation
import Testing

@testable import KeelBench

/// Percentiles, the per-turn figures, the ratios and the JSON and table forms of the report.
@Suite struct ReportTests {
    @Test func nearestRankPercentiles() {
        let samples = (1...100).map(Double.init)
        #expect(Percentiles.nearestRank(samples, 0.50) == 50)
        #expect(Percentiles.nearestRank(samples, 0.99) == 99)
        #expect(Percentiles.nearestRank(samples, 1.0) == 100)
        #expect(Percentiles.nearestRank([7], 0.99) == 7)
        #expect(Percentiles.nearestRank([1, 2, 3], 0.5) == 2)
        #expect(Percentiles.nearestRank([], 0.5) == nil)
        let summary = LatencySummary(milliseconds: [4, 1, 3, 2])
        #expect(summary.p50 == 2 && summary.p99 == 4 && summary.max == 4 && summary.mean == 2.5)
        #expect(LatencySummary([.milliseconds(3), .microseconds(1500)]).p50 == 1.5)
    }

    static func result(_ mode: BenchMode, _ scenario: BenchScenario, turns: Int, wall: Double) -> BenchResult {
        var result = BenchResult(mode: mode, scenario: scenario, sessions: 2, turnsPerSession: turns / 2, warmup: 1)
        result.record(
            LoadOutcome(
                latencies: (1...turns).map { .milliseconds($0) }, errors: [], wall: .milliseconds(Int(wall * 1000)),
                cutShort: false, abandonedSessions: 0, streamEvents: turns * 12, reconnects: 0),
            use: ResourceUse(
                serverCPU: 0.5, workerCPU: mode == .postgresWorkers ? 0.5 : nil, databaseCPU: mode.usesPostgres ? 1 : nil,
                benchCPU: 0.1, statements: mode.usesPostgres ? Int64(turns * 60) : nil,
                modelCalls: scenario == .tool ? turns * 2 : nil))
        result.serverExit = "exit 0"
        return result
    }

    @Test func perTurnFigures() {
        let memory = Self.result(.memory, .tool, turns: 100, wall: 2)
        #expect(memory.turnsPerSecond == 50)
        #expect(memory.serverCPUMsPerTurn == 5)
        #expect(memory.databaseCPUMsPerTurn == nil)
        #expect(memory.totalCPUMsPerTurn == 5)
        #expect(memory.benchCPUMsPerTurn == 1)
        #expect(memory.modelCallsPerTurn == 2)
        #expect(memory.eventsPerTurn == 12)
        #expect(memory.latency.p50 == 50 && memory.latency.p99 == 99)
        #expect(memory.ok)

        let workers = Self.result(.postgresWorkers, .sim, turns: 100, wall: 10)
        #expect(workers.serverCPUMsPerTurn == 10)  // server and workers together
        #expect(workers.databaseCPUMsPerTurn == 10)
        #expect(workers.totalCPUMsPerTurn == 20)
        #expect(workers.sqlStatementsPerTurn == 60)

        var grown = memory
        grown.rssBeforeBytes = 50 << 20
        grown.rssAfterBytes = (50 << 20) + 100 * 4096
        #expect(grown.rssGrowthKiBPerTurn == 4)
        #expect(memory.rssGrowthKiBPerTurn == nil)

        var empty = BenchResult(mode: .memory, scenario: .sim, sessions: 1, turnsPerSession: 1, warmup: 0)
        empty.serverExit = "exit 0"
        #expect(empty.turnsPerSecond == nil && empty.serverCPUMsPerTurn == nil && !empty.ok)
    }

    @Test func aPhaseThatMissedItsMeasureFails() {
        var stream = Self.result(.memory, .stream, turns: 10, wall: 1)
        #expect(BenchRunner.missingMeasure(of: stream)?.contains("time-stamped token") == true)
        stream.record(
            LoadOutcome(
                latencies: [.milliseconds(5)], errors: [], wall: .seconds(1), cutShort: false, abandonedSessions: 0,
                streamEvents: 30, reconnects: 0, tokenLatencies: [.microseconds(300), .microseconds(700)]),
            use: ResourceUse(serverCPU: 0.1))
        #expect(BenchRunner.missingMeasure(of: stream) == nil)
        #expect(stream.tokens == 2 && stream.tokenLatency.p99 == 0.7)

        var traced = Self.result(.memoryTraced, .sim, turns: 10, wall: 1)
        #expect(BenchRunner.missingMeasure(of: traced)?.contains("no spans") == true)
        traced.use.traceExports = 3
        #expect(BenchRunner.missingMeasure(of: traced)?.contains("/metrics") == true)
        traced.use.metricsScrapes = 2
        #expect(BenchRunner.missingMeasure(of: traced) == nil)
        #expect(traced.modelCallsPerTurn == nil)  // the mock is only the span sink here
    }

    @Test func ratiosJSONAndTable() throws {
        let report = BenchReport(
            results: [
                Self.result(.memory, .sim, turns: 100, wall: 1),
                Self.result(.postgresEmbedded, .sim, turns: 100, wall: 4),
                Self.result(.postgresEmbedded, .tool, turns: 100, wall: 4),
            ],
            logDirectory: "/tmp/x")
        #expect(report.ratios == [BenchReport.Ratio(scenario: .sim, mode: .postgresEmbedded, turnsPerSecondVsMemory: 0.25)])

        let json = try #require(try JSONSerialization.jsonObject(with: report.json()) as? [String: Any])
        let results = try #require(json["results"] as? [[String: Any]])
        let memory = results[0]
        for key in ["turns", "errors", "turns_per_second", "latency_ms", "server_cpu_ms_per_turn", "db_cpu_ms_per_turn",
                    "total_cpu_ms_per_turn", "bench_cpu_ms_per_turn", "rss_idle_mb", "rss_after_mb",
                    "sql_statements_per_turn", "sql_statements_unavailable", "rss_growth_kib_per_turn", "token_latency_ms",
                    "trace_exports", "metrics_scrapes"] {
            #expect(memory.keys.contains(key), "\(key)")
        }
        #expect(memory["sql_statements_per_turn"] is NSNull)
        #expect(memory["turns_per_second"] as? Double == 100)
        #expect((memory["latency_ms"] as? [String: Any])?["p99"] as? Double == 99)
        #expect(results[1]["sql_statements_per_turn"] as? Double == 60)
        #expect((json["ratios"] as? [[String: Any]])?.first?["turns_per_second_vs_memory"] as? Double == 0.25)

        let table = ReportTable.render(report).split(separator: "\n")
        #expect(table[0].hasPrefix("mode "))
        #expect(table.count == 2 + 3 + 1)  // header, rule, rows, one ratio
        let row = table[2].split(separator: " ")
        #expect(row[0] == "memory" && row[1] == "sim" && row[2] == "100" && row[4] == "100.0")
        #expect(row[8] == "-")  // no database in memory mode
        #expect(table[5] == "postgres-embedded vs memory (sim): 0.250x turns/s")
        #expect(Set(table.map(\.count)).count <= 2)  // fixed width: every row as wide as the header
    }
}
