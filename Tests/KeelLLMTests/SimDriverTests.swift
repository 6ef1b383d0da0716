import Foundation
import KeelCore
import KeelLLM
import Testing

@Suite struct SimDriverTests {
    private let endpoint = LLMEndpoint(providerType: .llmsim, apiKey: nil)

    private func ask(
        _ text: String, tools: [ToolDefinition] = [], driver: SimDriver = SimDriver(), recorder: DeltaRecorder = DeltaRecorder()
    ) async throws -> LLMResponse {
        let request = LLMRequest(
            model: "sim-1", systemPrompt: "Be brief.", messages: [Message(role: .user, content: [.text(text)])], tools: tools)
        return try await driver.generate(request, endpoint: endpoint) { recorder.record($0) }
    }

    private func isCallID(_ id: String) -> Bool {
        id.hasPrefix("call_") && id.count == 13 && id.dropFirst(5).allSatisfy(\.isHexDigit)
    }

    @Test func echoesInWordDeltas() async throws {
        let recorder = DeltaRecorder()
        let response = try await ask("hello there  world", recorder: recorder)
        #expect(response.text == "Echo: hello there  world")
        #expect(recorder.texts == ["Echo:", " hello", " there", "  world"])
        #expect(response.toolCalls.isEmpty)
        #expect(response.finishReason == "stop")
        #expect(response.model == "sim-1")
        #expect(response.responseID?.hasPrefix("sim-") == true)
        #expect(response.responseID?.count == 12)
        #expect(response.timeToFirstToken != nil)
        // Prompt: "Be brief." (9) + "hello there  world" (18) = 27 chars; output 24 chars.
        #expect(response.usage == Usage(inputTokens: 6, outputTokens: 6))
    }

    @Test func toolDirectivesBecomeToolCalls() async throws {
        let recorder = DeltaRecorder()
        let response = try await ask(
            #"Let me look. [[tool:get_weather {"location": "Paris", "nested": {"a": "}]]"}}]] [[tool:clock]]"#,
            recorder: recorder)
        #expect(response.text == "Let me look.")
        #expect(recorder.texts == ["Let", " me", " look."])
        #expect(response.toolCalls.map(\.name) == ["get_weather", "clock"])
        #expect(response.toolCalls.map(\.arguments) == [["location": "Paris", "nested": ["a": "}]]"]], [:]])
        #expect(response.toolCalls.allSatisfy { isCallID($0.id) })
        #expect(Set(response.toolCalls.map(\.id)).count == 2)
        #expect(response.finishReason == "tool_calls")
    }

    @Test func toolsAutoCallsTheFirstTool() async throws {
        let tools = [
            ToolDefinition(name: "first", description: "", parameters: ["type": "object"]),
            ToolDefinition(name: "second", description: "", parameters: ["type": "object"]),
        ]
        let response = try await ask("[[tools:auto]]", tools: tools)
        #expect(response.toolCalls.map(\.name) == ["first"])
        #expect(response.toolCalls.first?.arguments == [:])
        #expect(response.text == "")
        #expect(response.finishReason == "tool_calls")
        // Without tools there is nothing to call: plain echo.
        #expect(try await ask("[[tools:auto]]").text == "Echo: [[tools:auto]]")
    }

    @Test func repliesToToolResults() async throws {
        let request = LLMRequest(
            model: "sim-1", systemPrompt: "",
            messages: Array(SampleConversation.messages.dropLast()))
        let recorder = DeltaRecorder()
        let response = try await SimDriver().generate(request, endpoint: endpoint) { recorder.record($0) }
        #expect(response.text == #"Tool results: get_weather={"temp_c":18}; get_weather=service unavailable"#)
        #expect(recorder.texts.joined() == response.text)
        #expect(response.toolCalls.isEmpty)
        #expect(response.finishReason == "stop")
    }

    @Test func errorDirectiveFails() async throws {
        let recorder = DeltaRecorder()
        await #expect(throws: LLMError.server(status: 500)) { try await ask("please [[error]]", recorder: recorder) }
        #expect(recorder.all.isEmpty)
    }

    @Test func latencyIsPaidPerChunk() async throws {
        let start = ContinuousClock.now
        _ = try await ask("one two", driver: SimDriver(latency: .milliseconds(60)))
        // "Echo:", " one", " two": three chunks.
        #expect(ContinuousClock.now - start >= .milliseconds(180))
    }

    @Test func paceDirectiveSpacesTheChunksAndIsNotEchoed() async throws {
        let recorder = DeltaRecorder()
        let start = ContinuousClock.now
        let response = try await ask("one [[pace:70]] two", recorder: recorder)
        // "Echo:", " one", " two": three chunks, 70 ms apart.
        #expect(ContinuousClock.now - start >= .milliseconds(210))
        #expect(response.text == "Echo: one  two", "the directive is not part of the reply")
        #expect(recorder.texts.count == 3)
        let malformed = try await ask("[[pace:x]] hi")
        #expect(malformed.text == "Echo: [[pace:x]] hi", "a malformed directive stays visible")
        // A huge pace is clamped to 1 s a chunk: two chunks ("Echo:", " ") take 2 s, not 23 days.
        let clampedStart = ContinuousClock.now
        let clamped = try await ask("[[pace:999999999]]")
        #expect(clamped.text == "Echo: ")
        #expect(ContinuousClock.now - clampedStart < .seconds(10))
    }

    @Test func latencyIsCancellable() async throws {
        let driver = SimDriver(latency: .seconds(60))
        let request = LLMRequest(model: "sim", systemPrompt: "", messages: [Message(role: .user, content: [.text("a b")])])
        let (outcome, elapsed) = await withTaskGroup(of: (any Error)?.self) { group in
            group.addTask {
                do {
                    _ = try await driver.generate(request, endpoint: LLMEndpoint(providerType: .llmsim, apiKey: nil)) { _ in }
                    return nil
                } catch {
                    return error
                }
            }
            // Latency comes before the first chunk too, so there is no delta to wait for. A cancel
            // at any moment must end the call promptly; this pause only makes it likely that the
            // driver is already sleeping (if not, the call ends at once all the same).
            try? await Task.sleep(for: .milliseconds(100))
            let cancelledAt = ContinuousClock.now
            group.cancelAll()
            let outcome = await group.next() ?? nil
            return (outcome, ContinuousClock.now - cancelledAt)
        }
        #expect(outcome is CancellationError)
        #expect(elapsed < .seconds(15))  // the next chunk is 60 s away; loose for a loaded machine
    }

    @Test func registryHandsOutOneDriverPerProvider() {
        let registry = DriverRegistry(simLatency: .milliseconds(3))
        #expect(registry.driver(for: .openai) is OpenAIDriver)
        #expect(registry.driver(for: .anthropic) is AnthropicDriver)
        #expect(registry.driver(for: .gemini) is GeminiDriver)
        #expect((registry.driver(for: .llmsim) as? SimDriver)?.latency == .milliseconds(3))
    }
}
