import Foundation
import KeelCore
import Synchronization
import Testing

@testable import KeelObservability

/// The trace publisher's input queue is bounded: a consumer that falls behind costs dropped (and
/// counted) events, never unbounded memory.
@Suite("Trace publisher: bounded input queue")
struct TracePublisherQueueTests {
    private func event(_ sequence: Int) -> Event {
        Event(
            type: .sessionActivated, sessionID: "sess_q", sequence: sequence, context: EventContext(turnID: "turn_q"),
            data: .encoding(SessionActivatedPayload(turnID: "turn_q", inputMessageID: "message_q")))
    }

    @Test("events beyond the capacity are dropped and counted, and /metrics reports them")
    func dropsBeyondCapacity() {
        let publisher = TracePublisher(options: TraceOptions(), destinations: [], queueCapacity: 3)
        // Not running: nothing drains the queue.
        for sequence in 1...10 { publisher.observe(event(sequence)) }
        #expect(publisher.droppedEventsTotal == 7)

        let metrics = KeelMetrics()
        metrics.registerDroppedTraceEventsSource { publisher.droppedEventsTotal }
        #expect(metrics.render().contains("keel_trace_publisher_dropped_events_total 7"))
        publisher.observe(event(11))
        #expect(metrics.render().contains("keel_trace_publisher_dropped_events_total 8"))
    }

    @Test("the default capacity is the documented one and nothing is dropped below it")
    func defaultCapacity() {
        #expect(TracePublisher.defaultQueueCapacity == 10_000)
        let publisher = TracePublisher(options: TraceOptions(), destinations: [])
        for sequence in 1...TracePublisher.defaultQueueCapacity { publisher.observe(event(sequence)) }
        #expect(publisher.droppedEventsTotal == 0)
        publisher.observe(event(0))
        #expect(publisher.droppedEventsTotal == 1)
    }
}
