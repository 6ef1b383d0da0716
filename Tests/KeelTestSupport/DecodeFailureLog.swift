import KeelCore
import Synchronization

/// Collects what an `EventDecodeFailureReporter` was told, for tests that feed a reader
/// malformed events.
public final class DecodeFailureLog: Sendable {
    public struct Entry: Sendable, Hashable {
        public var eventID: String
        public var eventType: EventType
        public var consumer: String
    }

    private let log = Mutex<[Entry]>([])

    public init() {}

    public var entries: [Entry] { log.withLock { $0 } }

    public var reporter: EventDecodeFailureReporter {
        EventDecodeFailureReporter { failure, consumer in
            self.log.withLock {
                $0.append(Entry(eventID: failure.eventID, eventType: failure.eventType, consumer: consumer))
            }
        }
    }
}
