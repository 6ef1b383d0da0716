import Foundation
import KeelCore
import Testing

@testable import KeelObservability

/// A turn that waits for a person or its client shows the wait as its own span under `act`:
/// `wait_for_approval` from `tool.approval_requested` to the last decision, `wait_for_client`
/// from `tool.call_requested` / `question.requested` to the last result.
@Suite("Trace wait spans")
struct TraceWaitSpanTests {
    @Test("approval, then a client call and a question: one span per wait, each as long as the wait")
    func waits() throws {
        var script = TraceScript()
        let held = ToolCall(id: "call_held", name: "launch", arguments: [:])
        let question = ToolCall(id: "call_q", name: "ask_user", arguments: ["questions": [["question": "Why?"]]])
        script.input("go")
        script.startTurn("go")
        script.reasonStarted(iteration: 1)
        script.generate(text: "", toolCalls: [held, question], usage: Usage(inputTokens: 5, outputTokens: 5), finishReason: "tool_calls")
        script.actStarted([held, question])
        let approvalRequested = script.emit(ToolApprovalRequestedPayload(toolCalls: [held]))
        script.emit(ToolApprovalDecidedPayload(toolCallID: held.id, toolName: held.name, approved: true, reason: nil), after: 5_000)
        let clientRequested = script.emit(ToolCallRequestedPayload(toolCalls: [held]))
        script.emit(QuestionRequestedPayload(toolCallID: question.id, questions: [UserQuestion(question: "Why?")]))
        script.toolCompleted(question, after: 1_000, result: ["answers": []])
        script.toolCompleted(held, after: 2_000, result: "done")
        script.actCompleted(successes: 2, errors: 0)
        script.reasonStarted(iteration: 2)
        script.generate(text: "ok", usage: Usage(inputTokens: 5, outputTokens: 1))
        script.turnCompleted(iterations: 2, usage: Usage(inputTokens: 10, outputTokens: 6))
        script.idle()

        let all = trace(script.events)
        try checkTree(all, sessionID: script.sessionID)
        let act = try only(all, named: "act")
        let approval = try only(all, named: "wait_for_approval")
        let client = try only(all, named: "wait_for_client")
        #expect(approval.parentSpanID == act.spanID && client.parentSpanID == act.spanID)
        #expect(approval.spanID == idBytes(approvalRequested.id, last: 8))
        #expect(client.spanID == idBytes(clientRequested.id, last: 8))
        #expect(int(approval, "duration_ms") == 5_000)
        #expect(int(client, "duration_ms") == 3_010, "from the first request to the last of both results")
        #expect(int(client, "wait.tool_call_count") == 2, "the call and the question share the step's span")
        #expect(string(approval, "gen_ai.operation.name") == "wait_for_approval")
        #expect(approval.end <= client.start)
    }

    @Test("a cancelled wait ends its span as cancelled")
    func endedWaits() throws {
        var script = TraceScript()
        let held = ToolCall(id: "call_held", name: "launch", arguments: [:])
        script.input("go")
        script.startTurn("go")
        script.reasonStarted(iteration: 1)
        script.generate(text: "", toolCalls: [held], usage: Usage(), finishReason: "tool_calls")
        script.actStarted([held])
        script.emit(ToolApprovalRequestedPayload(toolCalls: [held]))
        let cancelled = script.emit(
            TurnCancelledPayload(turnID: script.turnID, reason: "user_requested", usage: Usage()), after: 700)
        script.idle()
        let all = trace(script.events)
        let approval = try only(all, named: "wait_for_approval")
        #expect(approval.status == .error("cancelled"), "a cancelled wait is not a finished one")
        #expect(string(approval, "error.type") == "cancelled")
        #expect(approval.end == cancelled.ts)
    }
}
