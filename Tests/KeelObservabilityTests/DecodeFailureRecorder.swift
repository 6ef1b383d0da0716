import KeelCore
import Synchronization

/// Collects what an `EventDecodeFailureReporter` is told, for tests.
final class DecodeFailureRecorder: Sendable {
    struct Report: Sendable, Hashable {
        var consumer: String
        var eventType: EventType
        var eventID: String
    }

    private let reports = Mutex<[Report]>([])

    var reporter: EventDecodeFailureReporter {
        EventDecodeFailureReporter { [self] failure, consumer in
            self.reports.withLock {
                $0.append(Report(consumer: consumer, eventType: failure.eventType, eventID: failure.eventID))
            }
        }
    }

    var all: [Report] { reports.withLock { $0 } }
}

extension JSONValue {
    /// This object without `key`: a payload that no longer decodes, for malformed-event tests.
    func removing(_ key: String) -> JSONValue {
        guard case .object(var object) = self else { return self }
        object[key] = nil
        return .object(object)
    }
}
