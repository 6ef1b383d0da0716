import Foundation
import KeelCore
import KeelTestSupport
import Synchronization
import Testing

@testable import KeelObservability

/// Runs `publisher` around `body`, then stops it (cancelling ends its event loop).
private func running(_ publisher: TracePublisher, _ body: () async throws -> Void) async throws {
    let task = Task { try await publisher.run() }
    defer { task.cancel() }
    try await body()
}

/// A turn whose `tool.completed` lacks `tool_name`, for an agent named by its `turn.started`.
private func turnWithUnreadableToolResult() -> (events: [Event], unreadable: Event) {
    let call = ToolCall(id: "call_1", name: "search", arguments: ["query": "cats"])
    var script = TraceScript()
    script.input("Find cats")
    script.emit(SessionActivatedPayload(turnID: script.turnID, inputMessageID: script.inputMessageID))
    script.emit(
        TurnStartedPayload(
            turnID: script.turnID, inputMessageID: script.inputMessageID, inputContent: "Find cats", agentID: "agent_bot",
            agentName: "Support Bot"))
    script.reasonStarted(iteration: 1, agentID: "agent_bot")
    script.generate(text: "", toolCalls: [call], finishReason: "tool_calls")
    script.actStarted([call])
    script.toolStarted(call)
    let payload = TraceScript.toolCompletedPayload(call, durationMS: 5, result: ["hits": 3], error: nil, status: "success")
    let unreadable = script.emit(EventType.toolCompleted, JSONValue.encoding(payload).removing("tool_name"))
    script.actCompleted(successes: 1, errors: 0)
    script.turnCompleted(iterations: 1, usage: Usage())
    return (script.events, unreadable)
}

@Suite("Observability: decode failures")
struct ObservabilityDecodeFailureTests {
    @Test("the trace publisher hands its reporter to the builder and still publishes the turn, named from turn.started")
    func publisherReportsAndPublishes() async throws {
        let failures = DecodeFailureLog()
        let published = Mutex<[SpanRecord]>([])
        let publisher = TracePublisher(
            options: TraceOptions(decodeFailures: failures.reporter),
            destinations: [.init(name: "test", acceptsContent: false) { spans in published.withLock { $0 += spans } }])
        let (events, unreadable) = turnWithUnreadableToolResult()
        try await running(publisher) {
            for event in events { publisher.observe(event) }
            #expect(await exportEventually(timeout: .seconds(30)) { published.withLock { $0.contains { $0.parentSpanID == nil } } })
        }
        #expect(failures.all == [.init(consumer: "trace", eventType: .toolCompleted, eventID: unreadable.id)])
        let spans = published.withLock { $0 }
        #expect(spans.map(\.name) == ["chat gpt-4o", "reason", "execute_tool search", "act", "invoke_agent Support Bot"])
        #expect(spans.first { $0.name == "execute_tool search" }?.status == .error("incomplete"))
    }

    @Test("Observability's reporter logs and counts keel_event_decode_failures_total{consumer,type}, for every consumer")
    func failuresAreCounted() async throws {
        let settings = try ObservabilitySettings(
            environment: ["ENABLE_PROMETHEUS_METRICS": "true", "OTEL_TARGETS": "CONSOLE"], deploymentGrade: "dev")
        let observability = Observability(settings: settings, logger: exportQuietLogger())
        let metrics = try #require(observability.metrics)
        let publisher = try #require(observability.eventObservers.lazy.compactMap { $0 as? TracePublisher }.first)
        #expect(!metrics.render().contains("keel_event_decode_failures_total{"), "no failures yet")

        let (events, unreadable) = turnWithUnreadableToolResult()
        let metricsLine = #"keel_event_decode_failures_total{consumer="metrics",type="tool.completed"} 1"#
        let traceLine = #"keel_event_decode_failures_total{consumer="trace",type="tool.completed"} 1"#
        try await running(publisher) {
            for event in events {
                for observer in observability.eventObservers { observer.observe(event) }
            }
            #expect(metrics.render().contains(metricsLine), "the metrics observer reports as it observes")
            #expect(await exportEventually(timeout: .seconds(30)) { metrics.render().contains(traceLine) })
        }

        // Other readers (the message history) report through the same reporter.
        let failure = try #require(throws: EventPayloadError.self) { try unreadable.payload(as: ToolCompletedPayload.self) }
        observability.decodeFailures.report(failure, consumer: "message_projection")
        let rendered = metrics.render()
        #expect(rendered.contains(#"keel_event_decode_failures_total{consumer="message_projection",type="tool.completed"} 1"#))
        #expect(rendered.contains(metricsLine) && rendered.contains(traceLine), "each consumer reported once")
    }
}
