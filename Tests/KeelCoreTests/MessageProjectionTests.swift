import Foundation
import KeelTestSupport
import Testing

@testable import KeelCore

@Suite("MessageProjection")
struct MessageProjectionTests {
    let sessionID = PublicID.make(.session)

    func event(_ type: EventType, _ sequence: Int, _ data: JSONValue) -> Event {
        Event(type: type, sessionID: sessionID, sequence: sequence, context: EventContext(turnID: "turn_x"), data: data)
    }

    @Test("rebuilds user, agent and tool_result messages in log order, skipping other events")
    func rebuildsConversation() throws {
        let user = Message(role: .user, content: [.text("What is 2+2?")])
        let call = toolCall("call_1", "calc", ["expr": "2+2"])
        let agentWithCall = Message(role: .agent, content: [.text("Let me compute."), .toolCall(call)])
        let answer = Message(role: .agent, content: [.text("4")])
        let toolEvent = event(
            EventType.toolCompleted, 7,
            ["tool_call_id": "call_1", "tool_name": "calc", "success": true, "status": "success", "result": ["value": 4]])
        let failedToolEvent = event(
            EventType.toolCompleted, 8,
            ["tool_call_id": "call_2", "tool_name": "calc", "success": false, "status": "error", "error": "bad expr"])
        let events = [
            event(EventType.inputMessage, 1, ["message": .encoding(user)]),
            event(EventType.turnStarted, 2, ["turn_id": "turn_x"]),
            event(EventType.outputMessageStarted, 3, ["message_id": .string(agentWithCall.id)]),
            event(EventType.outputMessageDelta, 4, ["delta": "Let me compute.", "accumulated": "Let me compute."]),
            event(EventType.outputMessageCompleted, 5, .encoding(completed(agentWithCall))),
            event(EventType.toolStarted, 6, ["tool_call": .encoding(call)]),
            toolEvent,
            failedToolEvent,
            event(EventType.outputMessageCompleted, 9, .encoding(completed(answer))),
            event(EventType.turnCompleted, 10, ["turn_id": "turn_x"]),
        ]

        let failures = DecodeFailureLog()
        let messages = MessageProjection.messages(from: events, failures: failures.reporter)
        #expect(failures.all.isEmpty)
        #expect(messages.map(\.role) == [.user, .agent, .toolResult, .toolResult, .agent])
        #expect(messages.map(\.sequence) == [1, 5, 7, 8, 9])
        #expect(messages.allSatisfy { $0.sessionID == sessionID })

        #expect(messages[0].id == user.id)
        #expect(messages[0].content == user.content)
        #expect(messages[1].id == agentWithCall.id)
        #expect(messages[1].text == "Let me compute.")
        #expect(messages[1].toolCalls == [call])
        #expect(messages[4].id == answer.id)
        #expect(messages[4].text == "4")

        // Tool results take their id and time from the tool.completed event.
        #expect(messages[2].content == [.toolResult(toolCallID: "call_1", result: ["value": 4], error: nil)])
        #expect(messages[2].id == "message_" + toolEvent.id.dropFirst("event_".count))
        #expect(PublicID.isValid(messages[2].id, prefix: .message))
        #expect(messages[2].createdAt == toolEvent.ts)
        #expect(messages[3].content == [.toolResult(toolCallID: "call_2", result: nil, error: "bad expr")])
    }

    @Test("a message event whose data does not decode is reported and skipped; the rest of the history stays")
    func malformedEvents() throws {
        let user = Message(role: .user, content: [.text("hi")])
        let answer = Message(role: .agent, content: [.text("hello")])
        let malformed = [
            event(EventType.toolCompleted, 2, ["tool_name": "x"]),
            event(EventType.outputMessageCompleted, 3, ["message": "not a message"]),
            event(EventType.inputMessage, 4, [:]),
        ]
        for bad in malformed {
            #expect(throws: EventPayloadError.self) { try MessageProjection.message(from: bad) }
        }
        // A type that carries no message is not a failure.
        let turnStarted = event(EventType.turnStarted, 5, ["message": .encoding(Message(role: .user, content: []))])
        #expect(try MessageProjection.message(from: turnStarted) == nil)

        let failures = DecodeFailureLog()
        let events = [event(EventType.inputMessage, 1, ["message": .encoding(user)])] + malformed
            + [turnStarted, event(EventType.outputMessageCompleted, 6, .encoding(completed(answer)))]
        let messages = MessageProjection.messages(from: events, failures: failures.reporter)
        #expect(messages.map(\.id) == [user.id, answer.id])
        #expect(failures.all.map(\.eventID) == malformed.map(\.id))
        #expect(failures.all.map(\.eventType) == malformed.map(\.type))
        #expect(failures.all.allSatisfy { $0.consumer == "message_projection" })
    }

    /// The `output.message.completed` data the loop writes for `message`.
    func completed(_ message: Message) -> OutputMessageCompletedPayload {
        OutputMessageCompletedPayload(message: message, model: "llmsim/sim", usage: Usage())
    }

    @Test("projecting a sequential loop's events reproduces the conversation the model was given")
    func projectionMatchesLoopHistory() async throws {
        let harness = LoopHarness(
            [.tools([toolCall("call_1", "echo", ["q": "x"]), toolCall("call_2", "failing")], text: ["Working."]),
             .text(["All done."])],
            tools: [EchoTool(), FailingTool()], parallelToolCalls: false)
        // The API layer records the input before the turn starts.
        try await harness.sink.emit(EventType.inputMessage, context: EventContext(), data: ["message": .encoding(harness.input)])
        _ = try await harness.run()

        let projected = MessageProjection.messages(from: harness.sink.events, failures: DecodeFailureLog().reporter)
        #expect(projected.map(\.role) == [.user, .agent, .toolResult, .toolResult, .agent])
        #expect(projected.last?.text == "All done.")

        // Up to the final answer, the projection has the same content as the last model request.
        let lastRequest = try #require(harness.driver.requests.last?.messages)
        #expect(projected.dropLast().map(\.content) == lastRequest.map(\.content))
        #expect(projected.dropLast().map(\.role) == lastRequest.map(\.role))
        #expect(projected[0].id == lastRequest[0].id)
        #expect(projected[1].id == lastRequest[1].id)
    }

    /// `tool.completed` is logged in completion order, but the next turn's history must list the
    /// results in the call order the model saw.
    @Test("projected tool results of a parallel step follow call order")
    func parallelProjectionKeepsCallOrder() async throws {
        let probe = ConcurrencyProbe()
        let harness = LoopHarness(
            [.tools([toolCall("call_slow", "probe", ["id": "slow", "delay_ms": 40]),
                     toolCall("call_fast", "probe", ["id": "fast", "delay_ms": 0])]),
             .text(["done"])],
            tools: [ProbeTool(probe: probe, rendezvous: 2)], parallelToolCalls: true)
        _ = try await harness.run()

        // The loop itself feeds results back in call order ...
        let lastRequest = try #require(harness.driver.requests.last?.messages)
        #expect(lastRequest.flatMap(\.toolResults).map(\.id) == ["call_slow", "call_fast"])
        // ... while the log records completions as they happen (usually the fast one first).
        #expect(Set(harness.sink.events(EventType.toolCompleted).compactMap { $0.data["tool_call_id"]?.stringValue })
            == ["call_fast", "call_slow"])

        let projected = MessageProjection.messages(from: harness.sink.events, failures: DecodeFailureLog().reporter).flatMap(\.toolResults).map(\.id)
        #expect(projected == ["call_slow", "call_fast"])
    }
}


@Suite("Conversation order")
struct ConversationOrderTests {
    static func event(_ type: EventType, _ sequence: Int, input: String?) -> Event {
        Event(type: type, sessionID: "session_1", sequence: sequence, context: EventContext(inputMessageID: input), data: [:])
    }

    @Test("a message sent during a turn moves to its own turn's start; one not started yet stays; the rest keeps its order")
    func queuedMessageMovesToItsTurn() {
        let log = [
            Self.event(.inputMessage, 1, input: "m1"), Self.event(.turnStarted, 2, input: "m1"),
            Self.event(.outputMessageCompleted, 3, input: "m1"), Self.event(.inputMessage, 4, input: "m2"),
            Self.event(.toolCompleted, 5, input: "m1"), Self.event(.outputMessageCompleted, 6, input: "m1"),
            Self.event(.inputMessage, 7, input: "m3"), Self.event(.turnStarted, 8, input: "m2"),
        ]
        let ordered = MessageProjection.conversationOrder(log).map(\.sequence)
        #expect(ordered == [1, 2, 3, 5, 6, 7, 4, 8], "m2 at its turn.started (8), after m3, which has no turn yet")
    }

    @Test("the order check takes the fast path only when nothing would move, and agrees with the full reordering")
    func fastPathAgreesWithReordering() {
        let plain = [
            Self.event(.inputMessage, 1, input: "m1"), Self.event(.turnStarted, 2, input: "m1"),
            Self.event(.outputMessageCompleted, 3, input: "m1"), Self.event(.toolCompleted, 4, input: "m1"),
            Self.event(.inputMessage, 5, input: "m2"), Self.event(.turnStarted, 6, input: "m2"),
            Self.event(.outputMessageCompleted, 7, input: nil),
        ]
        #expect(MessageProjection.isInConversationOrder(plain))
        #expect(MessageProjection.conversationOrder(plain).map(\.sequence) == Array(1...7))
        #expect(MessageProjection.reorderedConversation(plain).map(\.sequence) == Array(1...7))

        // Every way of queueing a message (its turn.started later, or never) leaves the fast path.
        let queued = [
            Self.event(.inputMessage, 1, input: "m1"), Self.event(.turnStarted, 2, input: "m1"),
            Self.event(.inputMessage, 3, input: "m2"), Self.event(.outputMessageCompleted, 4, input: "m1"),
            Self.event(.turnStarted, 5, input: "m2"),
        ]
        let waiting = Array(queued.prefix(4))
        let lastUnstarted = Array(plain.prefix(5))
        for log in [queued, waiting, lastUnstarted] {
            #expect(!MessageProjection.isInConversationOrder(log))
            #expect(
                MessageProjection.conversationOrder(log).map(\.sequence)
                    == MessageProjection.reorderedConversation(log).map(\.sequence))
        }
        #expect(MessageProjection.conversationOrder(queued).map(\.sequence) == [1, 2, 4, 3, 5])
    }
}
