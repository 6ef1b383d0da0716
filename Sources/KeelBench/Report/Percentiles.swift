/// Latency percentiles by the nearest-rank method: the p-th percentile of n sorted samples is the
/// sample at rank ⌈p·n⌉ (1-based), so every reported value is one that was measured.
public enum Percentiles {
    public static func nearestRank(_ sorted: [Double], _ fraction: Double) -> Double? {
        guard !sorted.isEmpty else { return nil }
        let rank = Int((fraction * Double(sorted.count)).rounded(.up))
        return sorted[min(max(rank, 1), sorted.count) - 1]
    }
}

/// The latency figures of a run, in milliseconds.
public struct LatencySummary: Sendable, Equatable {
    public var p50: Double?
    public var p90: Double?
    public var p99: Double?
    public var max: Double?
    public var mean: Double?

    public init(milliseconds samples: [Double]) {
        let sorted = samples.sorted()
        p50 = Percentiles.nearestRank(sorted, 0.50)
        p90 = Percentiles.nearestRank(sorted, 0.90)
        p99 = Percentiles.nearestRank(sorted, 0.99)
        max = sorted.last
        mean = sorted.isEmpty ? nil : sorted.reduce(0, +) / Double(sorted.count)
    }

    public init(_ durations: [Duration]) {
        self.init(milliseconds: durations.map(\.milliseconds))
    }
}

extension Duration {
    public var milliseconds: Double {
        let parts = components
        return Double(parts.seconds) * 1000 + Double(parts.attoseconds) / 1e15
    }

    public var seconds: Double { milliseconds / 1000 }
}
