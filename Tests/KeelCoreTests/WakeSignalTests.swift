import KeelCore
import Testing

@Suite("WakeSignal")
struct WakeSignalTests {
    @Test("a wait that timed out leaves the signal working: the next wait blocks until signalled")
    func timedOutWaitDoesNotEndTheSignal() async {
        let signal = WakeSignal()
        // Nothing signalled: each wait lasts its whole timeout. Before WakeSignal the executor's
        // AsyncStream ended at the first cancelled wait and every later wait returned at once.
        for _ in 0..<3 {
            let started = ContinuousClock.now
            await signal.wait(timeout: .milliseconds(50))
            #expect(ContinuousClock.now - started >= .milliseconds(45))
        }
        let woken = Task { await signal.wait(timeout: .seconds(30)) }
        // WakeSignal does not expose whether anyone waits, so this pause only makes it likely that
        // the signal finds the wait blocked. If it comes first, the pending signal wakes the wait at
        // once instead: the check below holds either way, so the pause cannot make the test fail.
        try? await Task.sleep(for: .milliseconds(20))
        let started = ContinuousClock.now
        signal.signal()
        await woken.value
        #expect(ContinuousClock.now - started < .seconds(10))
    }

    @Test("a signal while nobody waits wakes the next wait once")
    func pendingSignalCoalesces() async {
        let signal = WakeSignal()
        signal.signal()
        signal.signal()
        let first = ContinuousClock.now
        await signal.wait(timeout: .seconds(30))
        #expect(ContinuousClock.now - first < .seconds(10))
        let second = ContinuousClock.now
        await signal.wait(timeout: .milliseconds(50))
        #expect(ContinuousClock.now - second >= .milliseconds(45))
    }
}
