import KeelLLM
import Testing

@Suite struct RetryPolicyTests {
    let policy = RetryPolicy(maxRetries: 3, baseDelay: .milliseconds(500), maxDelay: .seconds(8))

    @Test func backoffGrowsWithJitterAndIsCapped() {
        for retry in 0..<8 {
            let ceiling = min(Duration.milliseconds(500) * (1 << retry), .seconds(8))
            let delay = policy.delay(forRetry: retry, retryAfter: nil)
            #expect(delay >= ceiling / 2 && delay <= ceiling, "retry \(retry): \(delay)")
        }
    }

    @Test func retryAfterWinsUpToTheMaximum() {
        #expect(policy.delay(forRetry: 0, retryAfter: 2) == .seconds(2))
        #expect(policy.delay(forRetry: 0, retryAfter: 0) == .zero)
        #expect(policy.delay(forRetry: 2, retryAfter: 600) == .seconds(8))
    }
}
