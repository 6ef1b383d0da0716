import KeelCore
import Testing

@testable import KeelHTTP

/// How a live stream decides between writing the events an in-process append handed over and
/// reading the log: only a gapless continuation of its cursor is written as handed over.
@Suite("Stream wake-ups")
struct StreamWakesTests {
    static func events(_ sequences: [Int]) -> [Event] {
        sequences.map { Event(type: .sessionIdled, sessionID: "s", sequence: $0, context: EventContext(), data: [:]) }
    }

    @Test("a gapless continuation is written as handed over; a gap, or nothing handed over, means reading the log")
    func continuation() {
        #expect(StreamWakes.continuation(after: 4, of: Self.events([5, 6, 7]))?.map(\.sequence) == [5, 6, 7])
        #expect(StreamWakes.continuation(after: 4, of: Self.events([6, 5]))?.map(\.sequence) == [5, 6], "out of order, sorted")
        #expect(StreamWakes.continuation(after: 4, of: Self.events([3, 4, 5]))?.map(\.sequence) == [5], "already written ones skipped")
        #expect(StreamWakes.continuation(after: 4, of: Self.events([3, 4]))?.isEmpty == true, "nothing new, nothing to read")
        #expect(StreamWakes.continuation(after: 4, of: Self.events([6, 7])) == nil, "5 is missing: read the log")
        #expect(StreamWakes.continuation(after: 4, of: Self.events([5, 7])) == nil, "a gap inside")
        #expect(StreamWakes.continuation(after: 4, of: []) == nil, "nothing handed over")
    }

    @Test("an append without its events, or more than fit, makes the reader read the log")
    func overflow() {
        let wakes = StreamWakes()
        wakes.appended(Self.events([1, 2]))
        var due = wakes.take()
        #expect(due.events && !due.mustRead && due.delivered.count == 2)
        wakes.appended(Self.events([3]))
        wakes.appended([])
        due = wakes.take()
        #expect(due.mustRead && due.delivered.isEmpty, "another instance's append: only its sequence is known")
        wakes.appended(Self.events(Array(1...StreamWakes.maxDelivered + 1)))
        #expect(wakes.take().mustRead)
        #expect(!wakes.take().events, "taken means cleared")
    }
}
