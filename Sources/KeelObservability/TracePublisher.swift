import Foundation
import KeelCore
import Logging
import ServiceLifecycle
import Synchronization

/// Feeds stored events to one `TurnTraceBuilder` on a single consumer task and hands every
/// finished span to the destinations: the OTLP fan-out and, if configured, Braintrust.
///
/// `observe` only enqueues, so a slow destination can never delay an event append. The queue is
/// bounded (`queueCapacity` events, default ``defaultQueueCapacity``): when the consumer falls that
/// far behind, further events are dropped and counted in ``droppedEventsTotal`` (exported as
/// `keel_trace_publisher_dropped_events_total`) rather than growing memory without limit; the turns
/// they belong to get incomplete traces. Events whose data does not decode are reported to
/// `options.decodeFailures` (consumer `trace`) by the builder, which skips them. Register this
/// service before the turn engine: ServiceLifecycle stops services in reverse order, so the
/// engine finishes its turns first and their last events still reach the traces.
final class TracePublisher: EventObserver, Service {
    /// A destination for finished spans, and whether it may receive message content.
    struct Destination: Sendable {
        var name: String
        var acceptsContent: Bool
        var publish: @Sendable ([SpanRecord]) -> Void

        init(name: String, acceptsContent: Bool, publish: @escaping @Sendable ([SpanRecord]) -> Void) {
            self.name = name
            self.acceptsContent = acceptsContent
            self.publish = publish
        }
    }

    private let options: TraceOptions
    private let destinations: [Destination]
    /// Agent names as `turn.started` reports them (the builder hands them over through
    /// `TraceOptions.onAgentNamed`), so root spans read `invoke_agent {name}`.
    private let agentNames = AgentNames()
    private let events: AsyncStream<Event>
    private let continuation: AsyncStream<Event>.Continuation
    private let dropped = Atomic<Int>(0)

    /// Events that may wait for the consumer: a few hundred busy turns' worth.
    static let defaultQueueCapacity = 10_000

    init(options: TraceOptions, destinations: [Destination], queueCapacity: Int = TracePublisher.defaultQueueCapacity) {
        var options = options
        self.destinations = destinations
        (events, continuation) = AsyncStream.makeStream(bufferingPolicy: .bufferingOldest(max(queueCapacity, 1)))
        let names = agentNames
        let fallback = options.agentName
        let named = options.onAgentNamed
        options.agentName = { id in names[id] ?? fallback?(id) }
        options.onAgentNamed = { id, name in
            names[id] = name
            named?(id, name)
        }
        self.options = options
    }

    func observe(_ event: Event) {
        if case .dropped = continuation.yield(event) {
            dropped.add(1, ordering: .relaxed)
        }
    }

    /// Events dropped because the queue was full (since start).
    var droppedEventsTotal: Int { dropped.load(ordering: .relaxed) }

    func run() async throws {
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

/// Agent id → name, written by the consumer task and read by the builder's name lookup.
final class AgentNames: Sendable {
    private let names = Mutex<[String: String]>([:])

    subscript(id: String) -> String? {
        get { names.withLock { $0[id] } }
        set { names.withLock { $0[id] = newValue } }
    }
}

extension SpanRecord {
    /// The span without any attribute that can carry message content, for destinations whose
    /// content capture is off while another destination's is on.
    func removingContent() -> SpanRecord {
        var copy = self
        copy.attributes.removeAll { TraceKey.contentKeys.contains($0.key) }
        return copy
    }
}
