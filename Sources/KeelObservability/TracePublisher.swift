import Foundation
import KeelCore
import Logging
import ServiceLifecycle

/// Feeds stored events to one `TurnTraceBuilder` on a single consumer task and hands every
/// finished span to the destinations: the OTLP fan-out and, if configured, Braintrust.
///
/// `observe` only enqueues, so a slow destination can never delay an event append. Register this
/// service before the turn engine: ServiceLifecycle stops services in reverse order, so the
/// engine finishes its turns first and their last events still reach the traces.
public final class TracePublisher: EventObserver, Service {
    /// A destination for finished spans, and whether it may receive message content.
    public struct Destination: Sendable {
        public var name: String
        public var acceptsContent: Bool
        public var publish: @Sendable ([SpanRecord]) -> Void

        public init(name: String, acceptsContent: Bool, publish: @escaping @Sendable ([SpanRecord]) -> Void) {
            self.name = name
            self.acceptsContent = acceptsContent
            self.publish = publish
        }
    }

    private let options: TraceOptions
    private let destinations: [Destination]
    private let events: AsyncStream<Event>
    private let continuation: AsyncStream<Event>.Continuation

    public init(options: TraceOptions, destinations: [Destination]) {
        self.options = options
        self.destinations = destinations
        (events, continuation) = AsyncStream.makeStream()
    }

    public func observe(_ event: Event) {
        continuation.yield(event)
    }

    public func run() async throws {
        var builder = TurnTraceBuilder(options: options)
        await withGracefulShutdownHandler {
            for await event in events {
                publish(builder.consume(event))
            }
        } onGracefulShutdown: {
            self.continuation.finish()
        }
        publish(builder.finishAll(at: Date(), reason: "server_shutdown"))
    }

    private func publish(_ spans: [SpanRecord]) {
        guard !spans.isEmpty else { return }
        let withoutContent = options.captureContent ? spans.map { $0.removingContent() } : spans
        for destination in destinations {
            destination.publish(destination.acceptsContent ? spans : withoutContent)
        }
    }
}

extension SpanRecord {
    /// The span without any attribute that can carry message content, for destinations whose
    /// content capture is off while another destination's is on.
    public func removingContent() -> SpanRecord {
        var copy = self
        copy.attributes.removeAll { TraceKey.contentKeys.contains($0.key) }
        return copy
    }
}
