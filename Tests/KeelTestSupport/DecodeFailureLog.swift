import KeelCore
import Synchronization

/// Collects what an `EventDecodeFailureReporter` was told, for tests that feed a reader
/// malformed events.
public final class DecodeFailureLog: Sendable {
    public struct Entry: Sendable, Hashable {
        public var consumer: String
        public var eventType: EventType
        public var eventID: String

        public init(consumer: String, eventType: EventType, eventID: String) {
            self.consumer = consumer
            self.eventType = eventType
            self.eventID = eventID
        }
    }

    private let log = Mutex<[Entry]>([])

    public init() {}

    public var all: [Entry] { log.withLock { $0 } }

    public var reporter: EventDecodeFailureReporter {
        EventDecodeFailureReporter { failure, consumer in
            self.log.withLock {
                $0.append(Entry(consumer: consumer, eventType: failure.eventType, eventID: failure.eventID))
            }
        }
    }
}
