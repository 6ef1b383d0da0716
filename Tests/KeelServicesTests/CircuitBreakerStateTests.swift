import Foundation
import KeelEngine
import Testing

/// `CircuitBreakerState`'s rules, which every store applies: when a breaker opens, how it refuses,
/// probes and recovers.
@Suite("Circuit breaker state")
struct CircuitBreakerStateTests {
    let policy = CircuitBreakerPolicy(
        failureThreshold: 3, failureRate: 0.5, minimumRequests: 6, window: .seconds(60), openDuration: .seconds(30))
    let start = Date(timeIntervalSince1970: 1_000_000)

    func at(_ seconds: Double) -> Date { start.addingTimeInterval(seconds) }

    /// Records outcomes at the given seconds; returns whether each changed the state.
    func record(_ state: inout CircuitBreakerState, _ outcomes: [(success: Bool, at: Double)]) -> [Bool] {
        outcomes.map { state.record(success: $0.success, now: at($0.at), policy: policy) }
    }

    func admit(_ state: inout CircuitBreakerState, at seconds: Double) -> CircuitBreakerState.Admission {
        state.admit(now: at(seconds), policy: policy)
    }

    @Test("consecutive failures open it; a success in between resets the count")
    func consecutiveFailures() {
        var state = CircuitBreakerState(key: "external:openai:gpt-4o", now: start)
        let first = admit(&state, at: 0)
        #expect(first == .allowed)
        let changes = record(&state, [(false, 1), (false, 2), (true, 3)])
        #expect(changes == [false, false, false])
        #expect(state.consecutiveFailures == 0)
        let opening = record(&state, [(false, 4), (false, 5), (false, 6)])
        #expect(opening == [false, false, true], "the third in a row opens it")
        #expect(state.state == .open && state.openedAt == at(6) && state.retryAt == at(36))
    }

    @Test("a failure rate over enough calls in the window opens it; an expired window starts over")
    func failureRate() {
        var state = CircuitBreakerState(key: "k", now: start)
        // Alternating: never three failures in a row.
        _ = record(&state, [(false, 0), (true, 1), (false, 2), (true, 3), (false, 4), (true, 5)])
        #expect(state.state == .closed && state.windowRequests == 6, "checked when a failure is counted")
        _ = record(&state, [(false, 6)])
        #expect(state.state == .open, "4 of 7 failed")

        var late = CircuitBreakerState(key: "k", now: start)
        _ = record(&late, [(false, 0), (false, 1), (true, 2), (false, 100)])
        #expect(late.windowRequests == 1 && late.windowFailures == 1, "the window restarted after 60 s")
        #expect(late.state == .closed)
    }

    @Test("open refuses until retry_at; then one probe; its success closes, its failure reopens")
    func probe() {
        var state = CircuitBreakerState(key: "k", now: start)
        _ = record(&state, [(false, 0), (false, 1), (false, 2)])
        let early = admit(&state, at: 10)
        #expect(early == .refused(retryAt: at(32)))
        let probe = admit(&state, at: 32)
        #expect(probe == .probe && state.state == .halfOpen)
        let second = admit(&state, at: 33)
        #expect(second == .refused(retryAt: at(62)), "one probe at a time")

        var failedProbe = state
        let reopened = record(&failedProbe, [(false, 34)])
        #expect(reopened == [true] && failedProbe.state == .open && failedProbe.retryAt == at(64))

        let closed = record(&state, [(true, 34)])
        #expect(closed == [true] && state.state == .closed && state.isQuiet)
        let after = admit(&state, at: 35)
        #expect(after == .allowed)
    }

    @Test("a probe that never reports does not hold the breaker: after the open period another may try")
    func lostProbe() {
        var state = CircuitBreakerState(key: "k", now: start)
        _ = record(&state, [(false, 0), (false, 1), (false, 2)])
        let first = admit(&state, at: 40)
        let waiting = admit(&state, at: 69)
        let next = admit(&state, at: 70)
        #expect(first == .probe && waiting == .refused(retryAt: at(70)) && next == .probe)
    }

    @Test("keys name the provider record and the model")
    func keys() {
        #expect(
            CircuitBreakerState.key(providerType: "anthropic", providerID: "provider_1", model: "claude-sonnet-4")
                == "external:anthropic:provider_1:claude-sonnet-4")
        #expect(CircuitBreakerState.key(providerType: "llmsim", providerID: nil, model: "sim") == "external:llmsim:default:sim")
    }
}
