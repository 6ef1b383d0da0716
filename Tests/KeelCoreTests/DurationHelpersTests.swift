import Testing

@testable import KeelCore

@Suite struct DurationHelpersTests {
    @Test func inSecondsKeepsFractions() {
        #expect(Duration.seconds(2).inSeconds == 2)
        #expect(Duration.milliseconds(1500).inSeconds == 1.5)
        #expect(Duration.microseconds(250).inSeconds == 0.00025)
        #expect(Duration.zero.inSeconds == 0)
    }

    @Test func wholeMillisecondsTruncates() {
        #expect(Duration.milliseconds(1500).wholeMilliseconds == 1500)
        #expect(Duration.microseconds(2999).wholeMilliseconds == 2)
        #expect(Duration.seconds(3).wholeMilliseconds == 3000)
    }

    /// The one user-visible format: the texts the tool tests and docs/python-sandbox.md pin
    /// ("timed out after 300ms", "… 1s", "… 10s"), and seconds with decimals above a second —
    /// the engine said "1.5s" where the capabilities said "1500ms" for the same limit.
    @Test func shortDescription() {
        #expect(Duration.milliseconds(200).shortDescription == "200ms")
        #expect(Duration.milliseconds(300).shortDescription == "300ms")
        #expect(Duration.seconds(1).shortDescription == "1s")
        #expect(Duration.seconds(10).shortDescription == "10s")
        #expect(Duration.milliseconds(1500).shortDescription == "1.5s")
        #expect(Duration.milliseconds(2250).shortDescription == "2.25s")
        #expect(Duration.milliseconds(60_001).shortDescription == "60.001s")
        #expect(Duration.zero.shortDescription == "0ms")
    }
}

@Suite struct BackoffTests {
    @Test func doublesFromInitialUpToMaximumWithoutJitter() {
        let backoff = Backoff(initial: .milliseconds(100), maximum: .seconds(5))
        let delays = (0..<10).map { backoff.delay(forRetry: $0) }
        // Delays are computed in floating-point seconds: compare at millisecond resolution.
        #expect(delays.prefix(6).map { Int(($0.inSeconds * 1000).rounded()) } == [100, 200, 400, 800, 1600, 3200])
        #expect(delays.suffix(4).allSatisfy { $0 == .seconds(5) })
        #expect(backoff.delay(forRetry: -3) == .milliseconds(100))
        #expect(backoff.delay(forRetry: 10_000) == .seconds(5))
    }

    /// Regression: the durable step retry applied its ±20 % after the cap, so a delay could be
    /// 1.2 × the documented maximum. No jitter may take a delay above `maximum`.
    @Test(arguments: [Backoff.Jitter.none, .equal, .proportional(0.2), .proportional(1)])
    func noDelayExceedsTheMaximum(jitter: Backoff.Jitter) {
        let backoff = Backoff(initial: .milliseconds(500), maximum: .seconds(30), jitter: jitter)
        var system = SystemRandomNumberGenerator()
        for retry in 0..<40 {
            for _ in 0..<50 {
                #expect(backoff.delay(forRetry: retry, using: &system) <= .seconds(30), "retry \(retry)")
            }
        }
    }

    @Test func jitterRanges() {
        let equal = Backoff(initial: .seconds(1), maximum: .seconds(8), jitter: .equal)
        let proportional = Backoff(initial: .seconds(1), maximum: .seconds(8), jitter: .proportional(0.2))
        for _ in 0..<200 {
            let e = equal.delay(forRetry: 2)
            #expect(e >= .seconds(2) && e <= .seconds(4))
            let p = proportional.delay(forRetry: 1)
            #expect(p >= .milliseconds(1600) && p <= .milliseconds(2400))
            // At the cap the spread lies below the cap only.
            let capped = proportional.delay(forRetry: 9)
            #expect(capped >= .milliseconds(6400) && capped <= .seconds(8))
        }
    }

    @Test func retryAfterWinsUpToTheMaximum() {
        let backoff = Backoff(initial: .milliseconds(500), maximum: .seconds(8), jitter: .equal)
        #expect(backoff.delay(forRetry: 0, retryAfter: 2) == .seconds(2))
        #expect(backoff.delay(forRetry: 0, retryAfter: 0) == .zero)
        #expect(backoff.delay(forRetry: 2, retryAfter: 600) == .seconds(8))
        for unusable in [-1, Double.nan, Double.infinity] {
            let delay = backoff.delay(forRetry: 0, retryAfter: unusable)
            #expect(delay >= .milliseconds(250) && delay <= .milliseconds(500))
        }
    }
}

@Suite struct FirstOfTests {
    @Test func returnsTheFirstAndCancelsTheOther() async throws {
        let loserCancelled = Latch()
        let value = try await firstOf({
            "fast"
        }, {
            do { try await Task.sleep(for: .seconds(60)) } catch { loserCancelled.signal() }
            return "slow"
        })
        #expect(value == "fast")
        // Structured: the loser has already been cancelled and awaited when firstOf returns.
        #expect(loserCancelled.isSignalled)
    }

    @Test func theFirstErrorWins() async {
        struct Boom: Error {}
        await #expect(throws: Boom.self) {
            let value: Int = try await firstOf({ throw Boom() }, {
                try await Task.sleep(for: .seconds(60))
                return 1
            })
            _ = value
        }
    }

    @Test func untilEitherReturnsWhenOneEnds() async {
        let start = ContinuousClock.now
        await untilEither({}, { try? await Task.sleep(for: .seconds(60)) })
        #expect(ContinuousClock.now - start < .seconds(30))
    }
}
