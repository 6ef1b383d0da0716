import Logging

/// Where an event whose `data` does not decode as its type's payload is reported.
///
/// Consumers skip such an event rather than fail (a malformed stored row must not stop a history
/// read, a trace or an export), so this is how the skip stays visible: the server's reporter
/// logs it and counts it in `keel_event_decode_failures_total{consumer,type}`. `consumer` names
/// the reader that skipped the event (`message_projection`, `trace` — which also feeds Braintrust — and
/// `metrics`).
public struct EventDecodeFailureReporter: Sendable {
    private let handler: @Sendable (EventPayloadError, String) -> Void

    public init(_ handler: @escaping @Sendable (_ failure: EventPayloadError, _ consumer: String) -> Void) {
        self.handler = handler
    }

    public func report(_ failure: EventPayloadError, consumer: String) {
        handler(failure, consumer)
    }

    /// Logs each failure at `error` with the event id and type (never the data: it may hold content).
    public static func logging(_ logger: Logger) -> Self {
        Self { failure, consumer in
            logger.error(
                "stored event does not decode; it is skipped",
                metadata: [
                    "consumer": "\(consumer)", "event_id": "\(failure.eventID)",
                    "event_type": "\(failure.eventType)", "detail": "\(failure.detail)",
                ])
        }
    }

    /// Logs through a logger of its own, for callers that have none.
    public static func logging(label: String) -> Self { logging(Logger(label: label)) }

    /// Calls every reporter in turn.
    public static func all(_ reporters: [Self]) -> Self {
        Self { failure, consumer in
            for reporter in reporters { reporter.report(failure, consumer: consumer) }
        }
    }
}
