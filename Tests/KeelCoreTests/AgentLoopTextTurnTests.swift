import Foundation
import Testing

@testable import KeelCore

@Suite("AgentLoop: text-only turns and streaming")
struct AgentLoopTextTurnTests {
    @Test("a text-only turn emits the §4 event order and one terminal event")
    func textOnlyEventOrder() async throws {
        let usage = Usage(inputTokens: 12, outputTokens: 7, cacheReadTokens: 3, cacheCreationTokens: 1)
        let harness = LoopHarness([.text(["Hel", "lo, ", "world"], usage: usage)])
        let outcome = try await harness.run()

        #expect(harness.sink.types == [
            EventType.turnStarted, EventType.reasonStarted, EventType.outputMessageStarted,
            EventType.outputMessageDelta, EventType.outputMessageDelta, EventType.outputMessageDelta,
            EventType.llmGeneration, EventType.outputMessageCompleted, EventType.reasonCompleted,
            EventType.turnCompleted,
        ])
        #expect(harness.sink.terminalEvents.count == 1)
        #expect(harness.sink.events.map(\.sequence) == Array(1...harness.sink.events.count))
        #expect(harness.sink.events.allSatisfy { $0.context.turnID == harness.plan.turnID })
        #expect(harness.sink.events.allSatisfy { $0.context.inputMessageID == harness.input.id })

        // turn.started carries the input.
        let started = try #require(harness.sink.events(EventType.turnStarted).first)
        #expect(started.data["turn_id"]?.stringValue == harness.plan.turnID)
        #expect(started.data["input_message_id"]?.stringValue == harness.input.id)
        #expect(started.data["input_content"]?.stringValue == "Hello there")

        // The completed message is the agent's full text, with the id announced at output.message.started.
        let messageID = try #require(harness.sink.events(EventType.outputMessageStarted).first?.data["message_id"]?.stringValue)
        #expect(PublicID.isValid(messageID, prefix: .message))
        let completed = try #require(harness.sink.events(EventType.outputMessageCompleted).first)
        let message = try #require(completed.message)
        #expect(message.role == .agent)
        #expect(message.text == "Hello, world")
        #expect(message.id == messageID)
        #expect(message.toolCalls.isEmpty)
        #expect(completed.data["usage"]?["input_tokens"]?.intValue == 12)

        let reasonCompleted = try #require(harness.sink.events(EventType.reasonCompleted).first)
        #expect(reasonCompleted.data["success"]?.boolValue == true)
        #expect(reasonCompleted.data["has_tool_calls"]?.boolValue == false)
        #expect(reasonCompleted.data["text_preview"]?.stringValue == "Hello, world")

        let generation = try #require(harness.sink.events(EventType.llmGeneration).first)
        #expect(generation.data["output"]?["text"]?.stringValue == "Hello, world")
        #expect(generation.data["metadata"]?["success"]?.boolValue == true)

        // Outcome and turn.completed agree.
        #expect(outcome == .completed(iterations: 1, usage: usage, finalMessageID: messageID, reachedIterationCap: false))
        let turnCompleted = try #require(harness.sink.events(EventType.turnCompleted).first)
        #expect(turnCompleted.data["status"]?.stringValue == "completed")
        #expect(turnCompleted.data["iterations"]?.intValue == 1)
        #expect(turnCompleted.data["llm_call_count"]?.intValue == 1)
        #expect(turnCompleted.data["tool_call_count"]?.intValue == 0)
        #expect(turnCompleted.data["final_message_id"]?.stringValue == messageID)
        #expect(turnCompleted.data["final_answer_preview"]?.stringValue == "Hello, world")
        #expect(turnCompleted.data["usage"] == usage.json)
        #expect(turnCompleted.data["max_iterations"] == nil)
    }

    @Test("the model sees the system prompt, the history and the tool definitions")
    func requestContents() async throws {
        let harness = LoopHarness([.text(["ok"])], tools: [EchoTool()], parallelToolCalls: false)
        _ = try await harness.run()

        let requests = harness.driver.requests
        try #require(requests.count == 1)
        #expect(requests[0].model == "gpt-test")
        #expect(requests[0].systemPrompt == "You are a test.")
        #expect(requests[0].messages == [harness.input])
        #expect(requests[0].tools.map(\.name) == ["echo"])
        #expect(requests[0].parallelToolCalls == false)
    }

    @Test("with a zero batch interval every chunk is its own delta, and accumulated grows by it")
    func unbatchedDeltas() async throws {
        let chunks = ["The ", "quick ", "brown ", "fox"]
        let harness = LoopHarness([.text(chunks)], deltaBatchInterval: .zero)
        _ = try await harness.run()

        let deltas = harness.sink.events(EventType.outputMessageDelta)
        #expect(deltas.map { $0.data["delta"]?.stringValue } == chunks)
        var expected = ""
        for (delta, chunk) in zip(deltas, chunks) {
            expected += chunk
            #expect(delta.data["accumulated"]?.stringValue == expected)
        }
        let messageID = harness.sink.events(EventType.outputMessageStarted).first?.data["message_id"]?.stringValue
        #expect(deltas.allSatisfy { $0.data["message_id"]?.stringValue == messageID })
        #expect(deltas.allSatisfy { $0.data["turn_id"]?.stringValue == harness.plan.turnID })
    }

    @Test("with a long batch interval chunks are coalesced without losing text")
    func batchedDeltas() async throws {
        let chunks = (1...10).map { "w\($0) " }
        let harness = LoopHarness([.text(chunks)], deltaBatchInterval: .seconds(30))
        _ = try await harness.run()

        let deltas = harness.sink.events(EventType.outputMessageDelta)
        #expect(deltas.count < chunks.count)
        // The first chunk goes out at once (time to first token), the rest in the final flush.
        #expect(deltas.count == 2)
        #expect(deltas.first?.data["delta"]?.stringValue == chunks[0])
        let concatenated = deltas.compactMap { $0.data["delta"]?.stringValue }.joined()
        #expect(concatenated == chunks.joined())
        #expect(deltas.last?.data["accumulated"]?.stringValue == chunks.joined())
        // Every delta is flushed before the generation is reported.
        let types = harness.sink.types
        let lastDelta = try #require(types.lastIndex(of: EventType.outputMessageDelta))
        let generation = try #require(types.firstIndex(of: EventType.llmGeneration))
        #expect(lastDelta < generation)
    }

    @Test("text pending when the provider pauses goes out at the interval, not at the next chunk")
    func pendingTextFlushesOnTime() async throws {
        // "b" arrives right after "a" (which went out at once), then the model stalls.
        let harness = LoopHarness([.hang(after: ["a", "b"])], deltaBatchInterval: .milliseconds(50))
        let turn = Task { try await harness.run() }
        let started = ContinuousClock.now
        var deltas: [String?] = []
        while ContinuousClock.now - started < .seconds(10) {
            deltas = harness.sink.events(EventType.outputMessageDelta).map { $0.data["delta"]?.stringValue }
            if deltas.count >= 2 { break }
            try await Task.sleep(for: .milliseconds(5))
        }
        let waited = ContinuousClock.now - started
        turn.cancel()
        _ = try? await turn.value
        #expect(deltas == ["a", "b"], "the stalled answer's pending text was held back")
        #expect(waited >= .milliseconds(40), "not before the interval")
        #expect(harness.sink.events(EventType.outputMessageDelta).last?.data["accumulated"]?.stringValue == "ab")
    }

    @Test("a long interval does not hold up the end of the answer")
    func longIntervalEndsPromptly() async throws {
        let harness = LoopHarness([.text(["x", "y", "z"])], deltaBatchInterval: .seconds(30))
        let started = ContinuousClock.now
        _ = try await harness.run()
        #expect(ContinuousClock.now - started < .seconds(5), "the flush timer is stopped, not waited for")
        #expect(harness.sink.events(EventType.outputMessageDelta).map { $0.data["delta"]?.stringValue } == ["x", "yz"])
    }

    @Test("a delta is emitted once the interval has elapsed since the last one")
    func intervalElapsedFlushes() async throws {
        let chunks = ["a", "b", "c"]
        // 40 ms between chunks, 10 ms interval: every chunk is due when it arrives.
        let harness = LoopHarness([.text(chunks, deltaDelay: .milliseconds(40))], deltaBatchInterval: .milliseconds(10))
        _ = try await harness.run()
        #expect(harness.sink.events(EventType.outputMessageDelta).map { $0.data["delta"]?.stringValue } == chunks)
    }

    @Test("thinking deltas become reason.thinking.* events, closed before the text starts")
    func thinkingEvents() async throws {
        let step = ScriptStep(deltas: [.thinking("Let me "), .thinking("think."), .text("Answer")])
        let harness = LoopHarness([step])
        _ = try await harness.run()

        #expect(harness.sink.types == [
            EventType.turnStarted, EventType.reasonStarted, EventType.outputMessageStarted,
            EventType.reasonThinkingStarted, EventType.reasonThinkingDelta, EventType.reasonThinkingDelta,
            EventType.reasonThinkingCompleted, EventType.outputMessageDelta,
            EventType.llmGeneration, EventType.outputMessageCompleted, EventType.reasonCompleted,
            EventType.turnCompleted,
        ])
        let thinkingDeltas = harness.sink.events(EventType.reasonThinkingDelta)
        #expect(thinkingDeltas.map { $0.data["accumulated"]?.stringValue } == ["Let me ", "Let me think."])
        #expect(harness.sink.events(EventType.reasonThinkingCompleted).first?.data["thinking"]?.stringValue == "Let me think.")
        // Thinking is not part of the answer.
        #expect(harness.sink.events(EventType.outputMessageCompleted).first?.message?.text == "Answer")
    }

    @Test("the provider key never appears on any event")
    func apiKeyNeverOnEvents() async throws {
        let harness = LoopHarness(
            [.tools([toolCall("call_1", "echo", ["q": "x"])]), .text(["done"])], tools: [EchoTool()])
        _ = try await harness.run()
        #expect(!harness.sink.eventJSON.isEmpty)
        #expect(harness.sink.eventJSON.allSatisfy { !$0.contains("SECRET") })
    }
}
