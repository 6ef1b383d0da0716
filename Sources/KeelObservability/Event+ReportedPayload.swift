import KeelCore

extension Event {
    /// The typed `data`, or nil once the failure has been reported to `failures` as `consumer`'s.
    ///
    /// Observability readers skip an event whose data does not decode instead of failing (one
    /// malformed stored row must not stop a trace, an export or the metrics); the report keeps
    /// the skip visible in the logs and in `keel_event_decode_failures_total{consumer,type}`.
    func payload<Payload: EventPayload>(
        as type: Payload.Type, consumer: String, failures: EventDecodeFailureReporter
    ) -> Payload? {
        do {
            return try payload(as: type)
        } catch let failure as EventPayloadError {
            failures.report(failure, consumer: consumer)
            return nil
        } catch {
            // `payload(as:)` documents `EventPayloadError` as its only error, and KeelCore offers
            // no public way to build one from another error, so this branch is unreachable.
            return nil
        }
    }
}
