import KeelEngine
import Testing

/// Regression: the durable step retry applied its ±20 % jitter after the cap, so a retry could
/// wait up to 1.2 × `retryMaxDelay` (36 s for the default 30 s).
@Suite struct DurableRetryDelayTests {
    @Test func noRetryWaitsLongerThanTheMaximum() {
        let configuration = DurableConfiguration(retryInitialDelay: .milliseconds(500), retryMaxDelay: .seconds(30))
        for attempt in 1...12 {
            for _ in 0..<200 {
                let delay = configuration.retryDelay(afterAttempt: attempt)
                #expect(delay <= .seconds(30), "attempt \(attempt): \(delay)")
            }
        }
    }

    @Test func delaysDoubleWithJitterFromTheInitialDelay() {
        let configuration = DurableConfiguration(retryInitialDelay: .milliseconds(500), retryMaxDelay: .seconds(30))
        for (attempt, base) in [(1, 500), (2, 1000), (3, 2000), (4, 4000)] {
            let delay = configuration.retryDelay(afterAttempt: attempt)
            #expect(delay >= .milliseconds(base) * 0.8 && delay <= .milliseconds(base) * 1.2, "attempt \(attempt): \(delay)")
        }
        // At the cap the spread lies below it: still jittered, never above.
        let capped = (0..<100).map { _ in configuration.retryDelay(afterAttempt: 20) }
        #expect(capped.allSatisfy { $0 >= .seconds(24) && $0 <= .seconds(30) })
    }
}
