import Synchronization
import Testing

@testable import KeelCore

/// Wake-ups per session: an append announced once wakes once (the NOTIFY echo of an in-process
/// append wakes nobody), a deletion wakes with `changed`, other sessions stay quiet.
@Suite("Session event signals")
struct SessionEventSignalsTests {
    @Test("an append wakes its session's readers once, however often it is announced; a change always wakes")
    func echoesAreDropped() async {
        let signals = SessionEventSignals()
        let stream = signals.subscribe(sessionID: "a")
        let quiet = signals.subscribe(sessionID: "b")
        var iterator = stream.makeAsyncIterator()
        signals.notifyAppended(sessionID: "a", through: 3)
        #expect(await iterator.next() == .appended)
        signals.notifyAppended(sessionID: "a", through: 3)  // the echo
        signals.notifyAppended(sessionID: "a", through: 2)  // an older one, late
        signals.notify(sessionID: "a")
        #expect(await iterator.next() == .changed, "the echo and the late one woke nobody; the change did")
        signals.notifyAppended(sessionID: "a", through: 4)
        #expect(await iterator.next() == .appended)
        signals.notifyAppended(sessionID: "nobody-listens", through: 1)
        var other = quiet.makeAsyncIterator()
        signals.notifyAppended(sessionID: "b", through: 1)
        #expect(await other.next() == .appended, "session b heard only its own append")
    }

    @Test("a handler subscription is called per wake-up and never after it is cancelled or dropped")
    func handlerSubscription() {
        let signals = SessionEventSignals()
        let heard = Mutex<[SessionEventSignals.Signal]>([])
        let subscription = signals.subscribe(sessionID: "a") { signal, _ in heard.withLock { $0.append(signal) } }
        signals.notifyAppended(sessionID: "a", through: 1)
        signals.notify(sessionID: "a")
        subscription.cancel()
        signals.notifyAppended(sessionID: "a", through: 2)
        #expect(heard.withLock { $0 } == [.appended, .changed])
        do {
            _ = signals.subscribe(sessionID: "b") { signal, _ in heard.withLock { $0.append(signal) } }
        }
        signals.notifyAppended(sessionID: "b", through: 1)
        #expect(heard.withLock { $0.count } == 2, "a dropped subscription hears nothing")
    }
}
