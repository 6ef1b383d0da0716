import Testing

@testable import KeelBench

/// A session's n-th terminal event ends its n-th turn, whether it arrives before or after the
/// turn starts waiting; a turn that waits too long or a lost stream fails.
@Suite struct TurnTrackerTests {
    @Test func anOutcomeThatArrivesFirstIsKeptForItsTurn() async throws {
        let tracker = TurnTracker()
        let seen = ContinuousClock.now
        tracker.recordTerminal(event: "turn.completed", at: seen)
        tracker.recordTerminal(event: "turn.failed", at: seen, detail: "boom")
        let first = try await tracker.outcome(ofTurn: 1, timeout: .seconds(5))
        #expect(first.succeeded && first.receivedAt == seen)
        let second = try await tracker.outcome(ofTurn: 2, timeout: .seconds(5))
        #expect(!second.succeeded && second.detail == "boom")
    }

    @Test func aWaitingTurnIsWokenByItsEvent() async throws {
        let tracker = TurnTracker()
        async let outcome = tracker.outcome(ofTurn: 1, timeout: .seconds(5))
        try await Task.sleep(for: .milliseconds(50))
        tracker.recordTerminal(event: "turn.completed", at: .now)
        #expect(try await outcome.succeeded)
    }

    @Test func aTurnTimesOutAndALostStreamFailsEveryLaterTurn() async throws {
        let tracker = TurnTracker()
        await #expect(throws: BenchError.self) { try await tracker.outcome(ofTurn: 1, timeout: .milliseconds(50)) }
        tracker.fail(BenchError.stream("gone"))
        await #expect(throws: BenchError.self) { try await tracker.outcome(ofTurn: 2, timeout: .seconds(5)) }
    }
}
