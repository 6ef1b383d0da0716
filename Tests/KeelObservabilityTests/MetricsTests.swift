import Foundation
import KeelCore
import KeelTestSupport
import Testing

@testable import KeelObservability

// MARK: Synthetic events

private let t0 = Date(timeIntervalSince1970: 1_700_000_000)

private func event<Payload: EventPayload>(_ payload: Payload, turn: String?, at offset: TimeInterval = 0) -> Event {
    event(Payload.eventType, turn: turn, at: offset, .encoding(payload))
}

/// An event with raw `data` (malformed events; the others go through a payload).
private func event(_ type: EventType, turn: String?, at offset: TimeInterval = 0, _ data: JSONValue) -> Event {
    Event(
        type: type, ts: t0.addingTimeInterval(offset), sessionID: "sess_1", sequence: 1,
        context: EventContext(turnID: turn), data: data)
}

private func turnStarted(_ turn: String, at offset: TimeInterval = 0) -> Event {
    event(
        TurnStartedPayload(turnID: turn, inputMessageID: "message_\(turn)", inputContent: "hi", agentID: nil, agentName: nil),
        turn: turn, at: offset)
}

private func turnCompleted(_ turn: String, at offset: TimeInterval, durationMS: Int) -> Event {
    event(
        TurnCompletedPayload(
            turnID: turn, iterations: 1, durationMS: durationMS, usage: Usage(), finalMessageID: "message_final",
            finalAnswerPreview: "", toolCallCount: 0, llmCallCount: 1, status: "completed"),
        turn: turn, at: offset)
}

private func generation(
    provider: String = "openai", model: String = "gpt-4o", success: Bool = true, durationMS: Int = 1500,
    ttftMS: Int? = 300, usage: Usage? = Usage(inputTokens: 100, outputTokens: 20, cacheReadTokens: 10, cacheCreationTokens: 5),
    turn: String = "turn_a"
) -> Event {
    event(
        LLMGenerationPayload(
            tools: nil, output: .init(text: "", toolCalls: []),
            metadata: .init(
                model: model, provider: provider, usage: usage, durationMS: durationMS, success: success,
                error: success ? nil : "rate_limited", timeToFirstTokenMS: ttftMS)),
        turn: turn)
}

private func toolCompleted(_ tool: String, status: String, durationMS: Int, turn: String = "turn_a") -> Event {
    event(
        ToolCompletedPayload(
            toolCallID: "call_1", toolName: tool, success: status == "success", status: status, durationMS: durationMS,
            result: nil, error: status == "success" ? nil : "failed"),
        turn: turn)
}

/// One of every kind of event the observer reads, over four turns.
private func syntheticEvents() -> [Event] {
    [
        // turn_a: two model calls (one failed), three tool calls, completed after 2.5 s.
        turnStarted("turn_a"),
        event(
            ReasonStartedPayload(
                agentID: nil, iteration: 1,
                metadata: .init(model: "gpt-4o", modelID: "openai/gpt-4o", providerID: nil, provider: "openai")),
            turn: "turn_a", at: 0.01),
        generation(),
        toolCompleted("get_current_time", status: "success", durationMS: 120),
        toolCompleted("web_fetch", status: "timeout", durationMS: 30_000),
        toolCompleted("web_fetch", status: "cancelled", durationMS: 0),
        generation(success: false, durationMS: 40, ttftMS: nil, usage: nil),
        turnCompleted("turn_a", at: 2.5, durationMS: 2400),
        // turn_b: failed after 0.75 s.
        turnStarted("turn_b", at: 10),
        generation(provider: "anthropic", model: "claude-sonnet-4", usage: Usage(inputTokens: 7, outputTokens: 3), turn: "turn_b"),
        event(
            TurnFailedPayload(turnID: "turn_b", error: "The model failed.", errorCode: "llm_error", iterations: 1),
            turn: "turn_b", at: 10.75),
        // turn_c: cancelled after 4 s; its tool call failed.
        turnStarted("turn_c", at: 20),
        toolCompleted("math", status: "error", durationMS: 2, turn: "turn_c"),
        event(TurnCancelledPayload(turnID: "turn_c", reason: "user_requested", usage: Usage()), turn: "turn_c", at: 24),
        // turn_d: its start was never seen (server restarted): counted, duration from duration_ms.
        turnCompleted("turn_d", at: 30, durationMS: 60_000),
    ]
}

/// Metrics with a sample in every family (histograms with observations).
private func fullyPopulatedMetrics() -> KeelMetrics {
    let metrics = KeelMetrics()
    // Wired as `Observability` wires it: skipped events are counted.
    let observer = metrics.makeEventObserver(
        decodeFailures: EventDecodeFailureReporter { failure, consumer in
            metrics.recordEventDecodeFailure(type: failure.eventType, consumer: consumer)
        })
    for event in syntheticEvents() { observer.observe(event) }
    let unreadable = toolCompleted("x", status: "success", durationMS: 1).data.removing("tool_name")
    observer.observe(event(EventType.toolCompleted, turn: "turn_a", unreadable))
    metrics.recordHTTPRequest(method: "GET", route: "/v1/sessions/{id}", status: 200, duration: .milliseconds(12))
    metrics.recordHTTPRequest(method: "POST", route: "/v1/sessions/{id}/messages", status: 201, duration: .milliseconds(30))
    metrics.recordHTTPRequest(method: "GET", route: "NotFound", status: 404, duration: .microseconds(80))
    metrics.sseStreamOpened()
    metrics.registerDroppedSpansSource(destination: "langfuse") { 3 }
    metrics.recordDroppedSpans(destination: "phoenix", count: 2)
    return metrics
}

private func lines(_ text: String) -> Set<String> {
    Set(text.split(separator: "\n").map(String.init))
}

// MARK: Tests

@Suite("Metrics: KeelMetrics and EventMetricsObserver")
struct MetricsTests {
    @Test("the observer turns a synthetic event sequence into turn, LLM, token and tool samples")
    func observerUpdatesFromEvents() {
        let metrics = KeelMetrics()
        let failures = DecodeFailureLog()
        let observer = EventMetricsObserver(metrics: metrics, decodeFailures: failures.reporter)
        for event in syntheticEvents() { observer.observe(event) }
        let rendered = lines(metrics.render())

        let expected = [
            // Turns: counts by outcome; durations from terminal ts − turn.started ts.
            #"keel_turns_total{outcome="completed"} 2"#,
            #"keel_turns_total{outcome="failed"} 1"#,
            #"keel_turns_total{outcome="cancelled"} 1"#,
            #"keel_turn_duration_seconds_count{outcome="completed"} 2"#,
            #"keel_turn_duration_seconds_sum{outcome="completed"} 62.5"#,
            #"keel_turn_duration_seconds_bucket{outcome="completed",le="2.5"} 1"#,
            #"keel_turn_duration_seconds_bucket{outcome="completed",le="60.0"} 2"#,
            #"keel_turn_duration_seconds_sum{outcome="failed"} 0.75"#,
            #"keel_turn_duration_seconds_sum{outcome="cancelled"} 4.0"#,
            // LLM calls.
            #"keel_llm_calls_total{provider="openai",model="gpt-4o",outcome="success"} 1"#,
            #"keel_llm_calls_total{provider="openai",model="gpt-4o",outcome="error"} 1"#,
            #"keel_llm_calls_total{provider="anthropic",model="claude-sonnet-4",outcome="success"} 1"#,
            #"keel_llm_call_duration_seconds_count{provider="openai",model="gpt-4o"} 1"#,
            #"keel_llm_call_duration_seconds_sum{provider="openai",model="gpt-4o"} 1.5"#,
            #"keel_llm_time_to_first_token_seconds_count{provider="openai",model="gpt-4o"} 1"#,
            #"keel_llm_time_to_first_token_seconds_bucket{provider="openai",model="gpt-4o",le="0.25"} 0"#,
            #"keel_llm_time_to_first_token_seconds_bucket{provider="openai",model="gpt-4o",le="0.5"} 1"#,
            // Tokens.
            #"keel_llm_tokens_total{provider="openai",model="gpt-4o",type="input"} 100"#,
            #"keel_llm_tokens_total{provider="openai",model="gpt-4o",type="output"} 20"#,
            #"keel_llm_tokens_total{provider="openai",model="gpt-4o",type="cache_read"} 10"#,
            #"keel_llm_tokens_total{provider="openai",model="gpt-4o",type="cache_creation"} 5"#,
            #"keel_llm_tokens_total{provider="anthropic",model="claude-sonnet-4",type="input"} 7"#,
            // Tools.
            #"keel_tool_calls_total{tool="get_current_time",outcome="success"} 1"#,
            #"keel_tool_calls_total{tool="web_fetch",outcome="timeout"} 1"#,
            #"keel_tool_calls_total{tool="web_fetch",outcome="cancelled"} 1"#,
            #"keel_tool_calls_total{tool="math",outcome="error"} 1"#,
            #"keel_tool_duration_seconds_count{tool="web_fetch"} 1"#,
            #"keel_tool_duration_seconds_sum{tool="web_fetch"} 30.0"#,
            #"keel_tool_duration_seconds_sum{tool="get_current_time"} 0.12"#,
            // The gauge exists before any stream opened.
            "keel_sse_streams_active 0.0",
        ]
        for line in expected {
            #expect(rendered.contains(line), "missing sample: \(line)")
        }
        // A failed call observes no duration; the failed LLM call added no tokens.
        #expect(!rendered.contains { $0.hasPrefix("keel_llm_call_duration_seconds_count") && $0.hasSuffix(" 2") })
        // Every started turn was evicted at its terminal event.
        #expect(observer.openTurnCount == 0)
        #expect(failures.all.isEmpty, "every synthetic event decodes")
    }

    @Test("an event whose data does not decode is skipped and reported; the rest of the turn is counted")
    func malformedEventsAreReportedAndSkipped() {
        let metrics = KeelMetrics()
        let failures = DecodeFailureLog()
        let observer = metrics.makeEventObserver(decodeFailures: failures.reporter)
        let noToolName = event(
            EventType.toolCompleted, turn: "turn_m",
            toolCompleted("lost", status: "success", durationMS: 5).data.removing("tool_name"))
        let noMetadata = event(EventType.llmGeneration, turn: "turn_m", generation(turn: "turn_m").data.removing("metadata"))
        let noUsage = event(
            EventType.turnCompleted, turn: "turn_m", at: 3,
            turnCompleted("turn_m", at: 3, durationMS: 99_000).data.removing("usage"))
        for event in [
            turnStarted("turn_m"), generation(turn: "turn_m"), noToolName,
            toolCompleted("math", status: "success", durationMS: 4, turn: "turn_m"), noMetadata, noUsage,
        ] {
            observer.observe(event)
        }

        #expect(failures.all == [
            .init(consumer: "metrics", eventType: .toolCompleted, eventID: noToolName.id),
            .init(consumer: "metrics", eventType: .llmGeneration, eventID: noMetadata.id),
            .init(consumer: "metrics", eventType: .turnCompleted, eventID: noUsage.id),
        ])
        let rendered = lines(metrics.render())
        for line in [
            #"keel_tool_calls_total{tool="math",outcome="success"} 1"#,
            #"keel_llm_calls_total{provider="openai",model="gpt-4o",outcome="success"} 1"#,
            // The unreadable terminal event still ends its turn (by type and context), timed from its start.
            #"keel_turns_total{outcome="completed"} 1"#,
            #"keel_turn_duration_seconds_sum{outcome="completed"} 3.0"#,
        ] {
            #expect(rendered.contains(line), "missing sample: \(line)")
        }
        #expect(!rendered.contains { $0.contains(#"tool="lost""#) || $0.contains(#"tool="unknown""#) })
        #expect(observer.openTurnCount == 0)
    }

    @Test("HTTP requests: method, route template and status labels; unmatched routes and odd methods are bounded")
    func httpLabels() {
        let metrics = KeelMetrics()
        metrics.recordHTTPRequest(method: "GET", route: "/v1/sessions/{id}", status: 200, duration: .milliseconds(20))
        metrics.recordHTTPRequest(method: "GET", route: "/v1/sessions/{id}", status: 200, duration: .milliseconds(40))
        metrics.recordHTTPRequest(method: "GET", route: nil, status: 404, duration: .milliseconds(1))
        metrics.recordHTTPRequest(method: "DELETE", route: "NotFound", status: 404, duration: .milliseconds(1))
        metrics.recordHTTPRequest(method: "BREW", route: "/v1/agents", status: 405, duration: .milliseconds(1))
        let rendered = lines(metrics.render())
        for line in [
            #"keel_http_requests_total{method="GET",route="/v1/sessions/{id}",status="200"} 2"#,
            #"keel_http_request_duration_seconds_count{method="GET",route="/v1/sessions/{id}",status="200"} 2"#,
            #"keel_http_request_duration_seconds_bucket{method="GET",route="/v1/sessions/{id}",status="200",le="0.025"} 1"#,
            #"keel_http_request_duration_seconds_bucket{method="GET",route="/v1/sessions/{id}",status="200",le="0.05"} 2"#,
            #"keel_http_requests_total{method="GET",route="unmatched",status="404"} 1"#,
            #"keel_http_requests_total{method="DELETE",route="unmatched",status="404"} 1"#,
            #"keel_http_requests_total{method="_OTHER",route="/v1/agents",status="405"} 1"#,
        ] {
            #expect(rendered.contains(line), "missing sample: \(line)")
        }
    }

    @Test("SSE gauge follows opens and closes")
    func sseGauge() {
        let metrics = KeelMetrics()
        metrics.sseStreamOpened()
        metrics.sseStreamOpened()
        metrics.sseStreamClosed()
        #expect(lines(metrics.render()).contains("keel_sse_streams_active 1.0"))
    }

    @Test("dropped spans: increments, cumulative totals (with restarts) and polled sources")
    func droppedSpans() {
        let metrics = KeelMetrics()
        metrics.recordDroppedSpans(destination: "phoenix", count: 2)
        metrics.recordDroppedSpans(destination: "phoenix", count: 3)
        metrics.setDroppedSpans(destination: "otlp", total: 5)
        metrics.setDroppedSpans(destination: "otlp", total: 8)
        metrics.setDroppedSpans(destination: "otlp", total: 8)
        metrics.setDroppedSpans(destination: "otlp", total: 1)  // the pipeline restarted: 1 new drop
        let source = DroppedCounter()
        metrics.registerDroppedSpansSource(destination: "langfuse") { source.value }
        #expect(lines(metrics.render()).contains(#"keel_trace_export_dropped_spans_total{destination="langfuse"} 0"#))
        source.value = 4
        let rendered = lines(metrics.render())
        #expect(rendered.contains(#"keel_trace_export_dropped_spans_total{destination="phoenix"} 5"#))
        #expect(rendered.contains(#"keel_trace_export_dropped_spans_total{destination="otlp"} 9"#))
        #expect(rendered.contains(#"keel_trace_export_dropped_spans_total{destination="langfuse"} 4"#))
    }

    @Test("externally supplied label values are capped; later values become _other")
    func labelBudget() {
        let metrics = KeelMetrics(maxDistinctLabelValues: 2)
        for tool in ["a", "b", "hallucinated_1", "hallucinated_2", "a"] {
            metrics.recordToolCall(tool: tool, outcome: .error, duration: .milliseconds(1))
        }
        let rendered = lines(metrics.render())
        #expect(rendered.contains(#"keel_tool_calls_total{tool="a",outcome="error"} 2"#))
        #expect(rendered.contains(#"keel_tool_calls_total{tool="_other",outcome="error"} 2"#))
        #expect(!rendered.contains { $0.contains("hallucinated") })
    }

    @Test("an open turn that never ends is forgotten once maxOpenTurns is exceeded")
    func openTurnCap() {
        let observer = EventMetricsObserver(
            metrics: KeelMetrics(), decodeFailures: DecodeFailureLog().reporter, maxOpenTurns: 2)
        for (index, turn) in ["t1", "t2", "t3"].enumerated() {
            observer.observe(turnStarted(turn, at: Double(index)))
        }
        #expect(observer.openTurnCount == 2)
    }

    @Test("every family is rendered, each with HELP and TYPE lines")
    func everyFamilyHasHelp() {
        let text = fullyPopulatedMetrics().render()
        let families = [
            "keel_http_requests_total", "keel_http_request_duration_seconds", "keel_turns_total",
            "keel_turn_duration_seconds", "keel_llm_call_duration_seconds", "keel_llm_time_to_first_token_seconds",
            "keel_llm_calls_total", "keel_llm_tokens_total", "keel_tool_calls_total", "keel_tool_duration_seconds",
            "keel_sse_streams_active", "keel_trace_export_dropped_spans_total", "keel_event_decode_failures_total",
        ]
        let rendered = lines(text)
        for family in families {
            #expect(rendered.contains { $0.hasPrefix("# HELP \(family) ") }, "no HELP for \(family)")
            #expect(rendered.contains { $0.hasPrefix("# TYPE \(family) ") }, "no TYPE for \(family)")
        }
        #expect(rendered.filter { $0.hasPrefix("# TYPE ") }.count == families.count)
    }

    @Test(
        "promtool check metrics accepts the rendered text (exit 0, no lint problems)",
        .enabled(
            if: MetricsPromtool.path != nil || ProcessInfo.processInfo.environment["CI"] != nil,
            "promtool not found (apt-get install -y prometheus); skipped outside CI, where it must be installed"))
    func promtoolCheck() throws {
        guard let path = MetricsPromtool.path else {
            Issue.record("promtool is not installed but CI is set: install Debian's prometheus package")
            return
        }
        let text = fullyPopulatedMetrics().render()
        let result = try MetricsPromtool.checkMetrics(text, executable: path)
        #expect(result.status == 0, "promtool exit \(result.status): \(result.output)\n--- input ---\n\(text)")
    }
}

private final class DroppedCounter: @unchecked Sendable {
    private let lock = NSLock()
    private var stored = 0
    var value: Int {
        get { lock.withLock { stored } }
        set { lock.withLock { stored = newValue } }
    }
}

/// Finds and runs `promtool` (from Debian's `prometheus` package, or `$PROMTOOL`).
enum MetricsPromtool {
    static let path: String? = {
        let environment = ProcessInfo.processInfo.environment
        if let explicit = environment["PROMTOOL"], FileManager.default.isExecutableFile(atPath: explicit) {
            return explicit
        }
        let directories = (environment["PATH"] ?? "").split(separator: ":").map(String.init) + ["/usr/bin", "/usr/local/bin"]
        let path = directories.map { "\($0)/promtool" }.first { FileManager.default.isExecutableFile(atPath: $0) }
        if path == nil {
            print("MetricsTests: promtool not found on PATH; the promtool check is skipped unless CI is set")
        }
        return path
    }()

    /// Runs `promtool check metrics` with `text` on stdin.
    static func checkMetrics(_ text: String, executable: String) throws -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = ["check", "metrics"]
        let input = Pipe()
        let output = Pipe()
        process.standardInput = input
        process.standardOutput = output
        process.standardError = output
        try process.run()
        input.fileHandleForWriting.write(Data(text.utf8))
        try input.fileHandleForWriting.close()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: data, as: UTF8.self))
    }
}
