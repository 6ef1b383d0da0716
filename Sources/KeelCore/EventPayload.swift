import Foundation

/// The typed `data` of one event type. Producers build events from these structs and consumers
/// read them back with `event.payload(as:)`, so the field names live in one place (the coding
/// keys) instead of string literals on both sides. The JSON is the wire format; golden tests pin it.
public protocol EventPayload: Codable, Sendable, Hashable {
    static var eventType: EventType { get }
}

/// An event's `data` did not decode as the payload of its type (or the type did not match).
public struct EventPayloadError: Error, Sendable, Hashable, CustomStringConvertible {
    public var eventID: String
    public var eventType: EventType
    public var detail: String

    public var description: String { "event \(eventID) (\(eventType)): \(detail)" }

    public init(eventID: String, eventType: EventType, detail: String) {
        self.eventID = eventID
        self.eventType = eventType
        self.detail = detail
    }
}

extension EventDraft {
    /// A draft of the payload's event type with the payload as `data`.
    public init<Payload: EventPayload>(_ payload: Payload, context: EventContext) {
        self.init(type: Payload.eventType, context: context, data: .encoding(payload))
    }
}

extension Event {
    /// The typed `data`; throws `EventPayloadError` when the type differs or the data does not decode.
    public func payload<Payload: EventPayload>(as _: Payload.Type) throws(EventPayloadError) -> Payload {
        guard type == Payload.eventType else {
            throw EventPayloadError(eventID: id, eventType: type, detail: "expected \(Payload.eventType)")
        }
        do {
            return try data.decode(Payload.self)
        } catch {
            throw EventPayloadError(eventID: id, eventType: type, detail: String(describing: error))
        }
    }

    /// The typed `data`, or nil once the failure has been reported to `failures` as `consumer`'s.
    /// Readers skip an event whose data does not decode instead of failing (one malformed stored
    /// row must not stop a history read, a trace or the metrics); the report keeps it visible.
    public func payload<Payload: EventPayload>(
        as type: Payload.Type, consumer: String, failures: EventDecodeFailureReporter
    ) -> Payload? {
        do {
            return try payload(as: type)
        } catch {
            failures.report(error, consumer: consumer)
            return nil
        }
    }
}

extension TurnEventSink {
    /// Emits the payload's event type with the payload as `data`.
    @discardableResult
    public func emit<Payload: EventPayload>(_ payload: Payload, context: EventContext) async throws -> Event {
        try await emit(Payload.eventType, context: context, data: .encoding(payload))
    }
}

/// A field that is always on the wire, as `null` when there is no value (e.g. `agent_id` of a
/// session without an agent). Plain optionals are left out when nil; this one is not.
@propertyWrapper
public struct ExplicitNull<Value: Codable & Sendable & Hashable>: Codable, Sendable, Hashable {
    public var wrappedValue: Value?

    public init(wrappedValue: Value?) { self.wrappedValue = wrappedValue }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        wrappedValue = container.decodeNil() ? nil : try container.decode(Value.self)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        if let wrappedValue { try container.encode(wrappedValue) } else { try container.encodeNil() }
    }
}

extension KeyedDecodingContainer {
    /// A missing explicit-null field reads as nil (older logs), not as a decoding error.
    public func decode<Value>(_ type: ExplicitNull<Value>.Type, forKey key: Key) throws -> ExplicitNull<Value> {
        try decodeIfPresent(type, forKey: key) ?? ExplicitNull(wrappedValue: nil)
    }
}
