import Foundation
import Testing

@testable import KeelCore

/// Polls `condition` every millisecond for up to `limit` (a liveness bound for a loaded machine: it
/// only matters when a test fails); records an issue on timeout.
func waitUntil(
    _ limit: Duration = .seconds(30), sourceLocation: SourceLocation = #_sourceLocation,
    _ condition: @Sendable () -> Bool
) async throws {
    let deadline = ContinuousClock.now + limit
    while !condition() {
        guard ContinuousClock.now < deadline else {
            Issue.record("condition not met within \(limit)", sourceLocation: sourceLocation)
            return
        }
        try await Task.sleep(for: .milliseconds(1))
    }
}

struct UnclassifiedError: Error {}

@Suite("AgentLoop: iteration cap")
struct AgentLoopIterationCapTests {
    @Test("a model that always calls a tool stops at max_iterations with turn.completed status max_iterations")
    func iterationCap() async throws {
        let echo = EchoTool()
        let harness = LoopHarness(
            [.tools([toolCall("call_loop", "echo", ["n": 1])], usage: Usage(inputTokens: 1, outputTokens: 1))],
            repeatLast: true, tools: [echo], maxIterations: 3)
        let outcome = try await harness.run()

        #expect(harness.driver.callCount == 3)
        #expect(echo.invocations.count == 2)
        #expect(harness.sink.events(EventType.reasonStarted).count == 3)
        #expect(harness.sink.events(EventType.toolStarted).count == 2)

        // Every requested call gets a tool.completed; the last step's call is reported as cancelled.
        let completed = harness.sink.events(EventType.toolCompleted)
        #expect(completed.count == 3)
        #expect(completed.prefix(2).allSatisfy { $0.data["status"]?.stringValue == "success" })
        let skipped = try #require(completed.last)
        #expect(skipped.data["status"]?.stringValue == "cancelled")
        #expect(skipped.data["success"]?.boolValue == false)
        #expect(skipped.data["tool_call_id"]?.stringValue == "call_loop")
        #expect(skipped.data["error"]?.stringValue?.isEmpty == false)
        #expect(harness.sink.events(EventType.actCompleted).last?.data["completed"]?.boolValue == false)

        // The terminal event is turn.completed, last, with the cap recorded.
        #expect(harness.sink.terminalEvents.map(\.type) == [EventType.turnCompleted])
        #expect(harness.sink.types.last == EventType.turnCompleted)
        let turnCompleted = try #require(harness.sink.events(EventType.turnCompleted).first)
        #expect(turnCompleted.data["status"]?.stringValue == "max_iterations")
        #expect(turnCompleted.data["max_iterations"]?.intValue == 3)
        #expect(turnCompleted.data["iterations"]?.intValue == 3)
        #expect(turnCompleted.data["llm_call_count"]?.intValue == 3)
        #expect(turnCompleted.data["tool_call_count"]?.intValue == 3)

        let lastAgentMessage = try #require(harness.sink.events(EventType.outputMessageCompleted).last?.message)
        #expect(outcome == .completed(
            iterations: 3, usage: Usage(inputTokens: 3, outputTokens: 3), finalMessageID: lastAgentMessage.id,
            reachedIterationCap: true))
    }

    @Test("max_iterations 1 with a tool call executes no tool at all")
    func capOfOne() async throws {
        let echo = EchoTool()
        let harness = LoopHarness([.tools([toolCall("c1", "echo"), toolCall("c2", "echo")])], tools: [echo], maxIterations: 1)
        let outcome = try await harness.run()
        #expect(harness.driver.callCount == 1)
        #expect(echo.invocations.count == 0)
        #expect(harness.sink.events(EventType.toolCompleted).map { $0.data["status"]?.stringValue } == ["cancelled", "cancelled"])
        #expect(outcome.reachedIterationCap == true)
    }
}

@Suite("AgentLoop: cancellation")
struct AgentLoopCancellationTests {
    @Test(
        "cancelling mid-stream throws CancellationError promptly and emits no terminal event",
        arguments: [false, true])
    func cancelMidStream(driverThrowsTransportError: Bool) async throws {
        let errorOnCancel: (any Error & Sendable)? = driverThrowsTransportError ? LLMError.network("request cancelled") : nil
        let harness = LoopHarness([.hang(after: ["Partial answer"], errorOnCancel: errorOnCancel)])
        let sink = harness.sink
        let task = Task { try await harness.run() }

        try await waitUntil { sink.types.contains(EventType.outputMessageDelta) }
        let cancelledAt = ContinuousClock.now
        task.cancel()
        let result = await task.result
        let elapsed = ContinuousClock.now - cancelledAt

        #expect(seconds(elapsed) < 10.0)  // the driver would hang forever; loose for a loaded machine
        switch result {
        case .success(let outcome): Issue.record("expected cancellation, got \(outcome)")
        case .failure(let error): #expect(error is CancellationError, "got \(error)")
        }
        #expect(sink.terminalEvents.isEmpty)
        #expect(!sink.types.contains(EventType.outputMessageCompleted))
        #expect(!sink.types.contains(EventType.reasonCompleted))
        #expect(sink.types.last == EventType.outputMessageDelta)
    }

    @Test("cancelling while a tool runs throws CancellationError and reports no tool result")
    func cancelDuringTool() async throws {
        let slow = SlowTool(delay: .seconds(3600))
        let harness = LoopHarness(
            [.tools([toolCall("call_s", "slow")]), .text(["never"])], tools: [slow], toolTimeout: .seconds(60))
        let sink = harness.sink
        let task = Task { try await harness.run() }

        try await waitUntil { slow.started.count == 1 }
        let cancelledAt = ContinuousClock.now
        task.cancel()
        let result = await task.result

        #expect(seconds(ContinuousClock.now - cancelledAt) < 10.0)  // the tool would run for an hour; loose for a loaded machine
        #expect(throws: CancellationError.self) { try result.get() }
        #expect(sink.terminalEvents.isEmpty)
        #expect(!sink.types.contains(EventType.toolCompleted))
        #expect(!sink.types.contains(EventType.actCompleted))
        #expect(harness.driver.callCount == 1)
    }

    @Test("cancelling while a tool ignores cancellation still ends the turn at once")
    func cancelDuringUncooperativeTool() async throws {
        let stubborn = UncooperativeTool(delay: .seconds(60))
        defer { stubborn.release.signal() }
        let harness = LoopHarness(
            [.tools([toolCall("call_u", "stubborn")]), .text(["never"])], tools: [stubborn], toolTimeout: .seconds(60))
        let sink = harness.sink
        let task = Task { try await harness.run() }

        try await waitUntil { sink.types.contains(EventType.toolStarted) }
        let cancelledAt = ContinuousClock.now
        task.cancel()
        let result = await task.result

        #expect(seconds(ContinuousClock.now - cancelledAt) < 10.0)  // loose for a loaded machine
        // The tool holds on until released (or for 60 s): the turn ended without waiting for it.
        #expect(stubborn.finished.count == 0)
        #expect(throws: CancellationError.self) { try result.get() }
        #expect(!sink.types.contains(EventType.toolCompleted))
        #expect(harness.driver.callCount == 1)
    }

    @Test("a turn started in an already-cancelled task makes no model call")
    func alreadyCancelled() async throws {
        let harness = LoopHarness([.text(["never"])])
        let task = Task {
            withUnsafeCurrentTask { $0?.cancel() }
            return try await harness.run()
        }
        await #expect(throws: CancellationError.self) { try await task.value }
        #expect(harness.driver.callCount == 0)
        #expect(harness.sink.terminalEvents.isEmpty)
    }
}

@Suite("AgentLoop: LLM failures")
struct AgentLoopLLMFailureTests {
    static let classified: [(LLMError, String)] = [
        (.server(status: 500), "llm_error"),
        (.missingAPIKey(provider: .openai), "provider_misconfigured"),
        (.unauthorized(status: 401), "provider_misconfigured"),
        (.unknownModel("gpt-nope"), "provider_misconfigured"),
        (.rateLimited(retryAfter: 2), "provider_rate_limited"),
        (.badRequest(status: 400, detail: "context too long"), "provider_rejected_request"),
    ]

    @Test("an LLM error ends the turn with the fixed apology and turn.failed", arguments: classified)
    func llmErrorPath(error: LLMError, expectedCode: String) async throws {
        let harness = LoopHarness([.failure(error)])
        let outcome = try await harness.run()

        #expect(harness.sink.types == [
            EventType.turnStarted, EventType.reasonStarted, EventType.outputMessageStarted,
            EventType.llmGeneration, EventType.reasonCompleted, EventType.outputMessageCompleted,
            EventType.turnFailed,
        ])
        #expect(harness.sink.terminalEvents.count == 1)

        let reasonCompleted = try #require(harness.sink.events(EventType.reasonCompleted).first)
        #expect(reasonCompleted.data["success"]?.boolValue == false)
        #expect(reasonCompleted.data["error"]?.stringValue == expectedCode)
        #expect(harness.sink.events(EventType.llmGeneration).first?.data["metadata"]?["success"]?.boolValue == false)

        let apology = try #require(harness.sink.events(EventType.outputMessageCompleted).first)
        let message = try #require(apology.message)
        #expect(message.role == .agent)
        #expect(message.text == "I encountered an error while processing your request. Please try again later.")
        #expect(apology.data["error_code"]?.stringValue == expectedCode)

        let failed = try #require(harness.sink.events(EventType.turnFailed).first)
        #expect(failed.data["turn_id"]?.stringValue == harness.plan.turnID)
        #expect(failed.data["error_code"]?.stringValue == expectedCode)
        #expect(failed.data["error"]?.stringValue == "An error occurred while processing your request.")
        #expect(outcome == .failed(iterations: 1, usage: Usage(), errorCode: expectedCode))
    }

    /// Clients keyed by message id must see the announced message completed, not a new one.
    @Test("the apology completes the message announced by output.message.started")
    func apologyReusesAnnouncedMessageID() async throws {
        let harness = LoopHarness([.failure(LLMError.server(status: 503), after: ["partial "])])
        _ = try await harness.run()
        let announced = try #require(harness.sink.events(EventType.outputMessageStarted).first?.data["message_id"]?.stringValue)
        #expect(harness.sink.events(EventType.outputMessageDelta).first?.data["message_id"]?.stringValue == announced)
        let apology = try #require(harness.sink.events(EventType.outputMessageCompleted).first?.message)
        #expect(apology.text == UserFacingText.llmFailure)
        #expect(apology.id == announced)
    }

    @Test("a non-LLMError from the driver is reported as llm_error")
    func unclassifiedError() async throws {
        let harness = LoopHarness([.failure(UnclassifiedError())])
        let outcome = try await harness.run()
        #expect(outcome.errorCode == "llm_error")
        #expect(harness.sink.events(EventType.turnFailed).first?.data["error_code"]?.stringValue == "llm_error")
    }

    @Test("provider error details and the API key never reach any event")
    func detailNeverLeaks() async throws {
        let harness = LoopHarness([.failure(LLMError.badRequest(status: 400, detail: "SECRET-DETAIL"), after: ["par", "tial"])])
        let outcome = try await harness.run()

        #expect(outcome.errorCode == "provider_rejected_request")
        #expect(harness.sink.types.contains(EventType.turnFailed))
        let json = harness.sink.eventJSON
        #expect(json.count == harness.sink.events.count)
        for text in json {
            #expect(!text.contains("SECRET-DETAIL"))
            #expect(!text.contains(testAPIKey))
            #expect(!text.contains("provider rejected"))
        }
        // The streamed prefix is not passed off as the answer.
        #expect(harness.sink.events(EventType.outputMessageCompleted).first?.message?.text == UserFacingText.llmFailure)
    }

    @Test("an LLM error on a later iteration keeps the usage of the earlier calls")
    func errorAfterToolStep() async throws {
        let harness = LoopHarness(
            [.tools([toolCall("c1", "echo")], usage: Usage(inputTokens: 8, outputTokens: 2)), .failure(LLMError.timeout)],
            tools: [EchoTool()])
        let outcome = try await harness.run()
        #expect(outcome == .failed(iterations: 2, usage: Usage(inputTokens: 8, outputTokens: 2), errorCode: "llm_error"))
        #expect(harness.sink.terminalEvents.map(\.type) == [EventType.turnFailed])
        #expect(harness.sink.types.last == EventType.turnFailed)
    }
}
