import Foundation
import Testing

@testable import KeelCore

@Suite("AgentLoop: tool calls")
struct AgentLoopToolTests {
    @Test("a tool call step runs the tool and feeds its result to the next model call")
    func toolCallThenText() async throws {
        let echo = EchoTool()
        let harness = LoopHarness(
            [
                .tools([toolCall("call_1", "echo", ["q": "ping"])], text: ["Checking."],
                       usage: Usage(inputTokens: 10, outputTokens: 5)),
                .text(["pong received"], usage: Usage(inputTokens: 20, outputTokens: 7, cacheReadTokens: 4)),
            ],
            tools: [echo])
        let outcome = try await harness.run()

        #expect(harness.sink.types == [
            EventType.turnStarted,
            EventType.reasonStarted, EventType.outputMessageStarted, EventType.outputMessageDelta,
            EventType.llmGeneration, EventType.outputMessageCompleted, EventType.reasonCompleted,
            EventType.actStarted, EventType.toolStarted, EventType.toolCompleted, EventType.actCompleted,
            EventType.reasonStarted, EventType.outputMessageStarted, EventType.outputMessageDelta,
            EventType.llmGeneration, EventType.outputMessageCompleted, EventType.reasonCompleted,
            EventType.turnCompleted,
        ])
        #expect(harness.sink.terminalEvents.count == 1)
        #expect(echo.invocations.count == 1)

        // The first agent message holds the text and the tool_call part.
        let firstMessage = try #require(harness.sink.events(EventType.outputMessageCompleted).first?.message)
        #expect(firstMessage.role == .agent)
        #expect(firstMessage.text == "Checking.")
        #expect(firstMessage.toolCalls == [toolCall("call_1", "echo", ["q": "ping"])])
        let reasonCompleted = try #require(harness.sink.events(EventType.reasonCompleted).first)
        #expect(reasonCompleted.data["has_tool_calls"]?.boolValue == true)
        #expect(reasonCompleted.data["tool_call_count"]?.intValue == 1)

        let actStarted = try #require(harness.sink.events(EventType.actStarted).first)
        #expect(actStarted.data["tool_calls"] == [["id": "call_1", "name": "echo"]])
        let toolStarted = try #require(harness.sink.events(EventType.toolStarted).first)
        #expect(toolStarted.data["tool_call"] == ["id": "call_1", "name": "echo", "arguments": ["q": "ping"]])
        let toolCompleted = try #require(harness.sink.events(EventType.toolCompleted).first)
        #expect(toolCompleted.data["tool_call_id"]?.stringValue == "call_1")
        #expect(toolCompleted.data["tool_name"]?.stringValue == "echo")
        #expect(toolCompleted.data["success"]?.boolValue == true)
        #expect(toolCompleted.data["status"]?.stringValue == "success")
        let expectedResult: JSONValue = ["echo": ["q": "ping"], "session_id": .string(harness.sink.sessionID)]
        #expect(toolCompleted.data["result"] == expectedResult)
        #expect(toolCompleted.data["error"] == nil)
        let actCompleted = try #require(harness.sink.events(EventType.actCompleted).first)
        #expect(actCompleted.data["completed"]?.boolValue == true)
        #expect(actCompleted.data["success_count"]?.intValue == 1)
        #expect(actCompleted.data["error_count"]?.intValue == 0)

        // The second request replays the agent's tool call and the matching tool result.
        let requests = harness.driver.requests
        try #require(requests.count == 2)
        #expect(requests[0].messages.map(\.role) == [.user])
        let second = requests[1].messages
        #expect(second.map(\.role) == [.user, .agent, .toolResult])
        #expect(second[0] == harness.input)
        #expect(second[1].id == firstMessage.id)
        #expect(second[1].toolCalls.map(\.id) == ["call_1"])
        let result = try #require(second[2].toolResults.first)
        #expect(second[2].toolResults.count == 1)
        #expect(result.id == "call_1")
        #expect(result.result == expectedResult)
        #expect(result.error == nil)

        // Usage is summed over both model calls.
        let total = Usage(inputTokens: 30, outputTokens: 12, cacheReadTokens: 4)
        let finalMessage = try #require(harness.sink.events(EventType.outputMessageCompleted).last?.message)
        #expect(outcome == .completed(iterations: 2, usage: total, finalMessageID: finalMessage.id, reachedIterationCap: false))
        let turnCompleted = try #require(harness.sink.events(EventType.turnCompleted).first)
        #expect(turnCompleted.data["usage"] == total.json)
        #expect(turnCompleted.data["iterations"]?.intValue == 2)
        #expect(turnCompleted.data["tool_call_count"]?.intValue == 1)
        #expect(turnCompleted.data["final_message_id"]?.stringValue == finalMessage.id)
    }

    @Test("with parallel_tool_calls the calls of one step overlap and results keep call order")
    func parallelToolCalls() async throws {
        let probe = ConcurrencyProbe()
        // Each call waits for the other to arrive; "a" then waits for "b" to return (plus a margin
        // for b's task to end), so "b" finishes first.
        let harness = LoopHarness(
            [
                .tools([toolCall("call_a", "probe", ["id": "a", "after": "b", "delay_ms": 30]),
                        toolCall("call_b", "probe", ["id": "b", "delay_ms": 0])]),
                .text(["done"]),
            ],
            tools: [ProbeTool(probe: probe, rendezvous: 2)], parallelToolCalls: true)
        let clock = ContinuousClock()
        let elapsed = try await clock.measure { _ = try await harness.run() }

        #expect(probe.maximumConcurrency == 2)
        // Sequential calls would wait out the 30 s rendezvous (and never reach concurrency 2);
        // seconds are possible on a loaded machine, so the bound stays well clear of them.
        #expect(seconds(elapsed) < 25)
        #expect(harness.sink.events(EventType.toolStarted).count == 2)
        // Completion events come in finishing order: b before a.
        #expect(harness.sink.events(EventType.toolCompleted).compactMap { $0.data["tool_call_id"]?.stringValue } == ["call_b", "call_a"])
        // Tool results are fed back in call order.
        let second = try #require(harness.driver.requests.last?.messages)
        #expect(second.map(\.role) == [.user, .agent, .toolResult, .toolResult])
        #expect(second.flatMap(\.toolResults).map(\.id) == ["call_a", "call_b"])
        #expect(second.flatMap(\.toolResults).map(\.result) == [["id": "a"], ["id": "b"]])
        #expect(harness.sink.events(EventType.actCompleted).first?.data["success_count"]?.intValue == 2)
    }

    @Test("without parallel_tool_calls the calls run one after another")
    func sequentialToolCalls() async throws {
        let probe = ConcurrencyProbe()
        let harness = LoopHarness(
            [
                .tools([toolCall("call_a", "probe", ["id": "a", "delay_ms": 20]),
                        toolCall("call_b", "probe", ["id": "b", "delay_ms": 0])]),
                .text(["done"]),
            ],
            tools: [ProbeTool(probe: probe, rendezvous: nil)], parallelToolCalls: false)
        _ = try await harness.run()

        #expect(probe.arrived == 2)
        #expect(probe.maximumConcurrency == 1)
        let toolEvents = harness.sink.events.filter { $0.type == EventType.toolStarted || $0.type == EventType.toolCompleted }
        #expect(toolEvents.map(\.type) == [EventType.toolStarted, EventType.toolCompleted, EventType.toolStarted, EventType.toolCompleted])
        #expect(harness.sink.events(EventType.toolCompleted).compactMap { $0.data["tool_call_id"]?.stringValue } == ["call_a", "call_b"])
        let second = try #require(harness.driver.requests.last?.messages)
        #expect(second.flatMap(\.toolResults).map(\.id) == ["call_a", "call_b"])
        #expect(harness.driver.requests.allSatisfy { !$0.parallelToolCalls })
    }

    @Test("a ToolError becomes an error result and the turn still completes")
    func toolErrorIsAResult() async throws {
        let harness = LoopHarness(
            [.tools([toolCall("call_f", "failing")]), .text(["Sorry, no file."])], tools: [FailingTool()])
        let outcome = try await harness.run()

        let completed = try #require(harness.sink.events(EventType.toolCompleted).first)
        #expect(completed.data["success"]?.boolValue == false)
        #expect(completed.data["status"]?.stringValue == "error")
        #expect(completed.data["error"]?.stringValue == "file not found: /nope.txt")
        #expect(completed.data["result"] == nil)
        let actCompleted = try #require(harness.sink.events(EventType.actCompleted).first)
        #expect(actCompleted.data["success_count"]?.intValue == 0)
        #expect(actCompleted.data["error_count"]?.intValue == 1)

        #expect(harness.sink.terminalEvents.map(\.type) == [EventType.turnCompleted])
        #expect(outcome.reachedIterationCap == false)
        #expect(outcome.iterations == 2)

        let result = try #require(harness.driver.requests.last?.messages.last?.toolResults.first)
        #expect(result.id == "call_f")
        #expect(result.error == "file not found: /nope.txt")
        #expect(result.result == nil)
    }

    @Test("an unknown tool name becomes an 'Unknown tool' error result")
    func unknownTool() async throws {
        let echo = EchoTool()
        let harness = LoopHarness(
            [.tools([toolCall("call_x", "does_not_exist", ["a": 1])]), .text(["ok"])], tools: [echo])
        _ = try await harness.run()

        #expect(echo.invocations.count == 0)
        let completed = try #require(harness.sink.events(EventType.toolCompleted).first)
        #expect(completed.data["success"]?.boolValue == false)
        #expect(completed.data["status"]?.stringValue == "error")
        #expect(completed.data["error"]?.stringValue == "Unknown tool: does_not_exist")
        #expect(harness.sink.terminalEvents.map(\.type) == [EventType.turnCompleted])
        let result = try #require(harness.driver.requests.last?.messages.last?.toolResults.first)
        #expect(result.id == "call_x")
        #expect(result.error == "Unknown tool: does_not_exist")
    }

    @Test("a tool slower than the plan's timeout is cut off promptly with status timeout")
    func toolTimeout() async throws {
        let slow = SlowTool(delay: .seconds(60))
        let harness = LoopHarness(
            [.tools([toolCall("call_s", "slow")]), .text(["gave up"])], tools: [slow], toolTimeout: .milliseconds(50))
        let clock = ContinuousClock()
        let elapsed = try await clock.measure { _ = try await harness.run() }

        #expect(seconds(elapsed) < 20.0)  // the tool would take 60 s; loose for a loaded machine
        #expect(slow.started.count == 1)
        #expect(slow.finished.count == 0)
        let completed = try #require(harness.sink.events(EventType.toolCompleted).first)
        #expect(completed.data["success"]?.boolValue == false)
        #expect(completed.data["status"]?.stringValue == "timeout")
        let error = try #require(completed.data["error"]?.stringValue)
        #expect(error.lowercased().contains("timed out"))
        #expect(harness.sink.terminalEvents.map(\.type) == [EventType.turnCompleted])
        #expect(harness.driver.requests.last?.messages.last?.toolResults.first?.error == error)
    }

    @Test("a tool's own timeout takes precedence over the plan's")
    func toolOwnTimeout() async throws {
        let slow = SlowTool(delay: .seconds(60), timeout: .milliseconds(30))
        let harness = LoopHarness(
            [.tools([toolCall("call_s", "slow")]), .text(["gave up"])], tools: [slow], toolTimeout: .seconds(120))
        let clock = ContinuousClock()
        let elapsed = try await clock.measure { _ = try await harness.run() }

        #expect(seconds(elapsed) < 20.0)  // the tool would take 60 s; loose for a loaded machine
        #expect(harness.sink.events(EventType.toolCompleted).first?.data["status"]?.stringValue == "timeout")
    }

    @Test("a tool that finishes within its timeout succeeds")
    func toolWithinTimeout() async throws {
        let slow = SlowTool(delay: .milliseconds(5))
        let harness = LoopHarness(
            [.tools([toolCall("call_s", "slow")]), .text(["ok"])], tools: [slow], toolTimeout: .seconds(60))
        _ = try await harness.run()
        let completed = try #require(harness.sink.events(EventType.toolCompleted).first)
        #expect(completed.data["status"]?.stringValue == "success")
        #expect(completed.data["result"] == "done")
        #expect(slow.finished.count == 1)
    }

    @Test("a tool that spins ignoring cancellation is reported as timed out at the limit and the turn goes on")
    func uncooperativeToolTimesOutPromptly() async throws {
        // Spins until released (at the latest after 60 s, so a failing test ends).
        let spinning = SpinningTool(spin: .seconds(60))
        defer { spinning.release.signal() }
        let harness = LoopHarness(
            [.tools([toolCall("call_spin", "spin")]), .text(["moved on"])], tools: [spinning], toolTimeout: .milliseconds(200))
        let clock = ContinuousClock()
        let elapsed = try await clock.measure { _ = try await harness.run() }

        // Before withDeadline the loop waited for the spin to end: the turn finishing while the
        // tool still spins is the proof; the time bound is loose for a loaded machine.
        #expect(spinning.finished.count == 0)
        #expect(seconds(elapsed) < 20.0, "took \(elapsed)")
        let completed = try #require(harness.sink.events(EventType.toolCompleted).first)
        #expect(completed.data["status"]?.stringValue == "timeout")
        #expect(completed.data["error"]?.stringValue == "Tool timed out after 200ms")
        #expect(harness.sink.terminalEvents.map(\.type) == [EventType.turnCompleted])
        #expect(harness.driver.callCount == 2)
    }

    @Test("an unexpected tool error reaches the model as its type name only, never its description")
    func internalErrorIsNotDumped() async throws {
        let harness = LoopHarness([.tools([toolCall("call_l", "leaky")]), .text(["ok"])], tools: [LeakyTool()])
        _ = try await harness.run()

        let completed = try #require(harness.sink.events(EventType.toolCompleted).first)
        #expect(completed.data["status"]?.stringValue == "error")
        #expect(completed.data["error"]?.stringValue == "Tool failed: internal error (InternalDumpError)")
        let result = try #require(harness.driver.requests.last?.messages.last?.toolResults.first)
        #expect(result.error == "Tool failed: internal error (InternalDumpError)")
        #expect(harness.sink.terminalEvents.map(\.type) == [EventType.turnCompleted])
    }

    @Test("a retried act step reuses recorded results; a record that does not decode becomes an error result, and no tool runs twice")
    func recordedResultsOnRetry() async throws {
        let probe = ConcurrencyProbe()
        let harness = LoopHarness([.text(["unused"])], tools: [ProbeTool(probe: probe, rendezvous: nil)])
        let calls = [toolCall("call_ok", "probe", ["id": "ok"]), toolCall("call_garbled", "probe", ["id": "garbled"])]
        let assistant = Message(role: .agent, content: calls.map { .toolCall($0) })
        let recorded: [String: JSONValue] = [
            "call_ok": .encoding(
                ToolCompletedPayload(
                    toolCallID: "call_ok", toolName: "probe", success: true, status: "success", durationMS: 3,
                    result: ["id": "ok"], error: nil)),
            "call_garbled": ["tool_call_id": 17],
        ]

        let outcome = try await harness.loop.run(
            .act(iteration: 1, message: assistant, capReached: false), plan: harness.plan,
            history: [harness.input, assistant], progress: TurnProgress(), recordedToolResults: recorded)

        #expect(probe.arrived == 0, "no recorded call may run again")
        guard case .next(_, _, let appended) = outcome else {
            Issue.record("expected the turn to go on, got \(outcome)")
            return
        }
        let results = appended.flatMap(\.toolResults)
        #expect(results.map(\.id) == ["call_ok", "call_garbled"])
        #expect(results.first?.result == ["id": "ok"])
        #expect(results.first?.error == nil)
        #expect(results.last?.result == nil)
        #expect(results.last?.error == "the recorded result of this tool call is unreadable")
        // Recorded results were logged by the earlier attempt: no second tool.completed for either.
        #expect(harness.sink.events(EventType.toolCompleted).isEmpty)
    }
}
