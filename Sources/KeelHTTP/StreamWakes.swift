import KeelCore
import Synchronization

/// What a live stream has to do next, gathered from its sources (log signals, its timer, server
/// shutdown) into one set of flags and one coalescing bell, so a single loop serves them all. A
/// relay task per source and an unbounded queue of wake-ups cost every idle stream memory;
/// profiling 2,000 idle streams put that near 50 KB a stream.
final class StreamWakes: Sendable {
    struct Due: Sendable {
        /// New log entries may exist.
        var events = false
        /// Entries handed over by in-process appends since the last take, in arrival order; the
        /// reader writes them without reading the log when they continue its cursor.
        var delivered: [Event] = []
        /// More was handed over than `maxDelivered`, or some append came without its entries:
        /// the log must be read.
        var mustRead = false
        /// The session may be gone (a deletion, or a change of unknown extent).
        var check = false
        var heartbeat = false
        var cycle = false
        var shutdown = false
    }

    /// Entries kept for a reader between two wake-ups; a reader that far behind reads the log.
    static let maxDelivered = 256

    private let due = Mutex(Due())
    let bell: AsyncStream<Void>
    private let ring: AsyncStream<Void>.Continuation

    init() {
        (bell, ring) = AsyncStream<Void>.makeStream(bufferingPolicy: .bufferingNewest(1))
    }

    func raise(_ change: (inout Due) -> Void) {
        due.withLock { due in change(&due) }
        ring.yield()
    }

    /// New log entries, with the entries themselves when an in-process append gave them.
    func appended(_ events: [Event]) {
        raise { due in
            due.events = true
            if events.isEmpty || due.delivered.count + events.count > Self.maxDelivered {
                due.mustRead = true
                due.delivered = []
            } else if !due.mustRead {
                due.delivered += events
            }
        }
    }

    /// The delivered entries that continue the cursor `after`, in order, without a gap; nil when
    /// they do not (a gap, or nothing delivered): then the log must be read.
    static func continuation(after cursor: Int, of delivered: [Event]) -> [Event]? {
        guard !delivered.isEmpty else { return nil }
        var run: [Event] = []
        for event in delivered.filter({ $0.sequence > cursor }).sorted(by: { $0.sequence < $1.sequence }) {
            let expected = (run.last?.sequence ?? cursor) + 1
            if event.sequence < expected { continue }  // handed over twice
            guard event.sequence == expected else { return nil }
            run.append(event)
        }
        return run
    }

    /// Everything due since the last call, cleared.
    func take() -> Due {
        due.withLock { due in
            defer { due = Due() }
            return due
        }
    }

    /// Heartbeats every `heartbeat` until `cycle` has passed, then the cycle; runs until cancelled.
    func runTimer(heartbeat: Duration, cycle: Duration) async throws {
        let clock = ContinuousClock()
        let cycleEnd = clock.now + cycle
        var nextBeat = clock.now + heartbeat
        while true {
            let next = min(nextBeat, cycleEnd)
            try await clock.sleep(until: next)
            if next == cycleEnd {
                raise { $0.cycle = true }
                return
            }
            raise { $0.heartbeat = true }
            nextBeat += heartbeat
        }
    }
}
