/// Exponential backoff: the delay before retry number `n` (0-based) is `initial · 2ⁿ`, capped at
/// `maximum`, then jittered so retries from many sessions or processes do not come in waves.
///
/// Jitter never takes a delay above `maximum`: the documented maximum is a promise to operators
/// (how long a retry can park a turn or an export), so it is applied inside the cap, not after it.
package struct Backoff: Sendable, Hashable {
    package enum Jitter: Sendable, Hashable {
        /// The capped delay exactly (reconnect loops, where one process retries alone).
        case none
        /// "Equal jitter": half fixed, half random — a delay in `[d/2, d]` that never collapses to zero.
        case equal
        /// Up to this fraction either way: `[d·(1−f), d·(1+f)]`, the upper end limited to `maximum`.
        case proportional(Double)
    }

    package var initial: Duration
    package var maximum: Duration
    package var jitter: Jitter

    package init(initial: Duration, maximum: Duration, jitter: Jitter = .none) {
        self.initial = initial
        self.maximum = maximum
        self.jitter = jitter
    }

    /// The wait before retry number `retry` (0-based: the first retry waits about `initial`).
    package func delay(forRetry retry: Int) -> Duration {
        var generator = SystemRandomNumberGenerator()
        return delay(forRetry: retry, using: &generator)
    }

    /// The wait before retry number `retry`, or the server's `Retry-After` (seconds) when it sent a
    /// usable one — also never beyond `maximum`, so one header cannot park a caller for minutes.
    package func delay(forRetry retry: Int, retryAfter: Double?) -> Duration {
        if let retryAfter, retryAfter.isFinite, retryAfter >= 0 {
            return min(Duration.seconds(retryAfter), max(.zero, maximum))
        }
        return delay(forRetry: retry)
    }

    package func delay(forRetry retry: Int, using generator: inout some RandomNumberGenerator) -> Duration {
        let cap = max(0, maximum.inSeconds)
        // 2^30 · any sane initial delay is far beyond any cap; the bound keeps the arithmetic finite.
        let exponent = Double(min(max(0, retry), 30))
        let capped = min(max(0, initial.inSeconds) * pow2(exponent), cap)
        let seconds: Double
        switch jitter {
        case .none:
            seconds = capped
        case .equal:
            seconds = Double.random(in: capped / 2...capped, using: &generator)
        case .proportional(let fraction):
            let spread = min(max(0, fraction), 1)
            let upper = min(capped * (1 + spread), cap)
            seconds = Double.random(in: capped * (1 - spread)...upper, using: &generator)
        }
        return .seconds(min(seconds, cap))
    }

    private func pow2(_ exponent: Double) -> Double {
        Double(sign: .plus, exponent: Int(exponent), significand: 1)
    }
}
