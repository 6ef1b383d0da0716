import Foundation
import KeelCore
import Testing

/// Tool approvals and `ask_user` questions end to end over HTTP: a held call waits for
/// `POST /v1/sessions/{id}/tool-approvals`, a question for `POST /v1/sessions/{id}/question-answers`;
/// the session shows `pending_approvals` / `pending_questions` meanwhile. Every scenario runs in
/// memory (DEV_MODE) and on PostgreSQL with the steps on a separate `keel worker` process.
@Suite("human in the loop: approvals and questions", .serialized)
struct HumanInTheLoopTests {
    // MARK: - Approvals

    @Test("approval: the held call waits, the other runs; approved, it runs and the turn finishes",
          arguments: ClientToolSetup.allCases)
    func approve(_ setup: ClientToolSetup) async throws {
        try await ClientToolHarness.run(setup, extra: ["ENABLE_PROMETHEUS_METRICS": "true"]) { fixture in
            let session = try await fixture.session(Self.approvalSession(["add"]))
            _ = try await session.send(#"[[tool:add {"a":2,"b":3}]] [[tool:multiply {"a":2,"b":4}]]"#)
            let held = try await session.waitForApprovalRequest()
            #expect(held.map { $0["name"] } == ["add"])
            #expect(held.first?["arguments"] == ["a": 2, "b": 3])
            let callID = try #require(held.first?["id"]?.stringValue)

            let waiting = try await session.events()
            #expect(ClientToolTests.started(waiting) == ["multiply"], "only the held call waits")
            #expect(!waiting.types.contains("act.completed"))
            let view = try await session.get()
            #expect(view["status"] == "waitingfortoolresults")
            let pending = try #require(view["pending_approvals"]?.arrayValue)
            #expect(pending.map { $0["tool_call_id"]?.stringValue } == [callID])
            #expect(pending.first?["tool_name"] == "add")
            #expect(pending.first?["arguments"] == ["a": 2, "b": 3])
            #expect(view["pending_questions"] == [])
            #expect(try await fixture.heldTasks() == 0, "the wait holds no task")

            ClientToolTests.expectError(try await session.post([ClientToolTests.result(callID, 1)]), 409, "not_waiting")
            ClientToolTests.expectError(try await session.answer(["yes"]), 409, "not_waiting")
            ClientToolTests.expectError(try await session.decide([["tool_call_id": "call_nope", "approved": true]]), 400, "unknown_tool_call")
            ClientToolTests.expectError(try await session.decide([]), 400, nil)

            let reply = try await session.decide([["tool_call_id": .string(callID), "approved": true]])
            #expect(reply.json == ["accepted": 1, "status": "active"], "\(reply.text)")
            let log = try await fixture.server.waitForIdle(session.id)
            let decided = log.first { $0["type"] == "tool.approval_decided" }?["data"]
            #expect(decided?["approved"] == true)
            #expect(decided?["tool_call_id"]?.stringValue == callID)
            #expect(ClientToolTests.started(log) == ["multiply", "add"], "the approved call runs after the decision")
            #expect(DurableExecutionTests.count(log, "act.started") == 1)
            #expect(log.first { ClientToolTests.isCompleted($0, tool: "add") }?["data"]?["result"] == ["result": 5])
            let act = log.first { $0["type"] == "act.completed" }?["data"]
            #expect(act?["success_count"] == 2)
            #expect(ClientToolTests.finalAnswer(log) == #"Tool results: multiply={"result":8}"#, "results in call order")
            #expect(try await session.get()["pending_approvals"] == [])
            ClientToolTests.expectError(
                try await session.decide([["tool_call_id": .string(callID), "approved": true]]), 409, "not_waiting")
            DurableExecutionTests.expectGapless(log)

            let metrics = try await fixture.server.request(.get, "/metrics").text
            #expect(metrics.contains(#"keel_turn_waits_total{kind="approval",outcome="approved"} 1"#), "\(metrics.prefix(3000))")
        }
    }

    @Test("rejection: the model gets the reason as the call's error; a client tool with a policy is approved, then asked",
          arguments: ClientToolSetup.allCases)
    func rejectAndClientPolicy(_ setup: ClientToolSetup) async throws {
        try await ClientToolHarness.run(setup) { fixture in
            let session = try await fixture.session(Self.approvalSession(nil, tools: [Self.guardedTool]))
            _ = try await session.send(#"[[tool:launch {"target":"moon"}]] [[tool:add {"a":1,"b":1}]]"#)
            let held = try await session.waitForApprovalRequest()
            #expect(held.map { $0["name"] } == ["launch", "add"], "\"*\" holds every call")
            let ids = held.compactMap { $0["id"]?.stringValue }
            try #require(ids.count == 2)

            let first = try await session.decide([["tool_call_id": .string(ids[1]), "approved": false, "reason": "no maths today"]])
            #expect(first.json == ["accepted": 1, "status": "waitingfortoolresults"], "\(first.text)")
            #expect(try await session.get()["pending_approvals"]?.arrayValue?.count == 1, "partial decisions are kept")
            ClientToolTests.expectError(
                try await session.decide([["tool_call_id": .string(ids[1]), "approved": true]]), 400, "duplicate_tool_result")

            #expect(try await session.decide([["tool_call_id": .string(ids[0]), "approved": true]]).status == 200)
            let calls = try await session.waitForRequest()
            #expect(calls.map { $0["name"] } == ["launch"], "the approved client call goes to the client")
            #expect(try await session.post([ClientToolTests.result(ids[0], "lifted off")]).status == 200)
            let log = try await fixture.server.waitForIdle(session.id)
            let rejected = log.first { ClientToolTests.isCompleted($0, tool: "add") }?["data"]
            #expect(rejected?["error"] == "Rejected by user: no maths today")
            #expect(rejected?["success"] == false)
            #expect(ClientToolTests.started(log).isEmpty, "a rejected call never runs")
            #expect(ClientToolTests.finalAnswer(log) == "Tool results: add=Rejected by user: no maths today")
            let launched = log.first { ClientToolTests.isCompleted($0, tool: "launch") }?["data"]
            #expect(launched?["result"] == "lifted off")
            #expect(DurableExecutionTests.count(log, "turn.completed") == 1)
            DurableExecutionTests.expectGapless(log)
        }
    }

    @Test("approval timeout and a new message: held calls are rejected with the reason and the turn goes on",
          arguments: ClientToolSetup.allCases)
    func approvalTimeoutAndSupersede(_ setup: ClientToolSetup) async throws {
        try await ClientToolHarness.run(setup, extra: ["TOOL_RESULT_TIMEOUT_SECS": "2"]) { fixture in
            let timed = try await fixture.session(Self.approvalSession(["add"]))
            _ = try await timed.send(#"[[tool:add {"a":1,"b":2}]]"#)
            _ = try await timed.waitForApprovalRequest()
            let log = try await fixture.server.waitForIdle(timed.id)
            let decided = log.first { $0["type"] == "tool.approval_decided" }?["data"]
            #expect(decided?["approved"] == false)
            #expect(decided?["reason"] == "Timed out waiting for tool approval")
            #expect(ClientToolTests.finalAnswer(log) == "Tool results: add=Timed out waiting for tool approval")
            #expect(try await timed.get()["pending_approvals"] == [])

            let superseded = try await fixture.session(Self.approvalSession(["add"]))
            _ = try await superseded.send(#"[[tool:add {"a":1,"b":2}]]"#)
            _ = try await superseded.waitForApprovalRequest()
            #expect(try await superseded.send("never mind").status == 201)
            let both = try await fixture.server.waitForIdle(superseded.id, turns: 2)
            #expect(ClientToolTests.finalAnswer(both) == "Echo: never mind")
            let first = both.first { ClientToolTests.isCompleted($0, tool: "add") }?["data"]
            #expect(first?["error"] == "Cancelled: user sent a new message")
            #expect(DurableExecutionTests.count(both, "turn.completed") == 2)
        }
    }

    @Test("invalid approval settings are refused when the agent or session is saved")
    func invalidSettings() async throws {
        try await TestServer.run { server in
            let badPolicy = try await server.request(
                .post, "/v1/sessions", json: ["tools": [["type": "client_side", "name": "x", "policy": "sometimes"]]])
            ClientToolTests.expectError(badPolicy, 400, nil)
            #expect(badPolicy.text.contains("requires_approval"))
            let badConfig = try await server.request(
                .post, "/v1/agents",
                json: ["name": "a", "system_prompt": "x", "capabilities": [["ref": "tool_approval", "config": ["tools": "add"]]]])
            ClientToolTests.expectError(badConfig, 400, "invalid_capability_config")
            let good = try await server.request(
                .post, "/v1/sessions",
                json: ["tools": [["type": "client_side", "name": "x", "policy": ["requires_approval": true]]]])
            #expect(good.status == 201, "\(good.text)")
            #expect(good.json["tools"]?.arrayValue?.first?["policy"] == ["requires_approval": true], "the policy is kept")
        }
    }

    // MARK: - Questions

    @Test("ask_user: the questions wait for answers, which become the call's result",
          arguments: ClientToolSetup.allCases)
    func askUser(_ setup: ClientToolSetup) async throws {
        try await ClientToolHarness.run(setup) { fixture in
            let session = try await fixture.session(["capabilities": [["ref": "ask_user"]]])
            _ = try await session.send(
                #"[[tool:ask_user {"questions":[{"question":"Which city?","choices":["Oslo","Bern"]},{"question":"When?"}]}]]"#)
            try await fixture.server.waitForEvent(session.id, "question.requested")
            let asked = try #require(try await session.events().last { $0["type"] == "question.requested" }?["data"])
            let callID = try #require(asked["tool_call_id"]?.stringValue)
            #expect(asked["questions"] == [["question": "Which city?", "choices": ["Oslo", "Bern"]], ["question": "When?"]])
            let view = try await session.get()
            #expect(view["status"] == "waitingfortoolresults")
            let pending = try #require(view["pending_questions"]?.arrayValue)
            #expect(pending.first?["tool_call_id"]?.stringValue == callID)
            #expect(pending.first?["questions"] == asked["questions"])
            #expect(!(try await session.events()).types.contains("tool.call_requested"), "questions are not client tool calls")

            ClientToolTests.expectError(try await session.post([ClientToolTests.result(callID, "Oslo")]), 400, "unknown_tool_call")
            ClientToolTests.expectError(try await session.answer(["Oslo"]), 400, "answer_count_mismatch")
            ClientToolTests.expectError(try await session.answer(["Oslo", "now"], callID: "call_other"), 400, "unknown_tool_call")
            let reply = try await session.answer(["Oslo", "tomorrow"])
            #expect(reply.json == ["accepted": 1, "status": "active"], "\(reply.text)")

            let log = try await fixture.server.waitForIdle(session.id)
            #expect(DurableExecutionTests.count(log, "tool.completed") == 1, "\(log.types)")
            let answered = try #require(log.first { ClientToolTests.isCompleted($0, tool: "ask_user") }?["data"])
            #expect(answered["tool_call_id"]?.stringValue == callID)
            let result = answered["result"]
            #expect(result == ["answers": [["question": "Which city?", "answer": "Oslo"], ["question": "When?", "answer": "tomorrow"]]])
            #expect(ClientToolTests.finalAnswer(log)?.hasPrefix("Tool results: ask_user=") == true)
            #expect(try await session.get()["pending_questions"] == [])
            ClientToolTests.expectError(try await session.answer(["x", "y"]), 409, "not_waiting")
            DurableExecutionTests.expectGapless(log)
        }
    }

    @Test("ask_user: a malformed question set is an error result at once; two sets need a tool_call_id; cancel clears them",
          arguments: ClientToolSetup.allCases)
    func askUserEdges(_ setup: ClientToolSetup) async throws {
        try await ClientToolHarness.run(setup) { fixture in
            let malformed = try await fixture.session(["capabilities": [["ref": "ask_user"]]])
            _ = try await malformed.send(#"[[tool:ask_user {"questions":[]}]]"#)
            let log = try await fixture.server.waitForIdle(malformed.id)
            #expect(!log.types.contains("question.requested"))
            #expect(ClientToolTests.finalAnswer(log) == "Tool results: ask_user=ask_user needs a non-empty 'questions' array")

            let two = try await fixture.session(["capabilities": [["ref": "ask_user"]]])
            _ = try await two.send(
                #"[[tool:ask_user {"questions":[{"question":"A?"}]}]] [[tool:ask_user {"questions":[{"question":"B?"}]}]]"#)
            try await two.waitForEvents("two question sets") { $0.filter { $0["type"] == "question.requested" }.count == 2 }
            #expect(try await two.get()["pending_questions"]?.arrayValue?.count == 2)
            ClientToolTests.expectError(try await two.answer(["a"]), 400, "tool_call_id_required")
            let ids = try await two.events().filter { $0["type"] == "question.requested" }
                .compactMap { $0["data"]?["tool_call_id"]?.stringValue }
            let partial = try await two.answer(["a"], callID: ids[0])
            #expect(partial.json == ["accepted": 1, "status": "waitingfortoolresults"], "\(partial.text)")
            #expect(try await two.get()["pending_questions"]?.arrayValue?.count == 1)

            #expect(try await fixture.server.request(.post, "/v1/sessions/\(two.id)/cancel").status == 200)
            let cancelled = try await fixture.server.waitForIdle(two.id)
            #expect(DurableExecutionTests.count(cancelled, "turn.cancelled") == 1)
            let after = try await two.get()
            #expect(after["pending_questions"] == [])
            #expect(after["status"] == "idle")
            ClientToolTests.expectError(try await two.answer(["b"], callID: ids[1]), 409, "not_waiting")
        }
    }

    @Test("an approval wait survives a server restart: the decision posted to the new server finishes the turn")
    func approvalAfterRestart() async throws {
        try await PostgresPersistenceTests.withDatabase { url in
            let port = try freeLoopbackPort()
            let environment = ClientToolHarness.postgresEnvironment(url, grpcPort: port)
            let worker = try WorkerProcess.start(port: port)
            let (sessionID, callID) = try await TestServer.run(environment: environment) { server in
                let session = try await ClientToolFixture(server: server, databaseURL: url).session(Self.approvalSession(["add"]))
                _ = try await session.send(#"[[tool:add {"a":20,"b":22}]]"#)
                let callID = try #require(try await session.waitForApprovalRequest().first?["id"]?.stringValue)
                return (session.id, callID)
            }
            try await TestServer.run(environment: environment) { server in
                let session = ClientToolSession(server: server, id: sessionID)
                #expect(try await session.get()["pending_approvals"]?.arrayValue?.count == 1)
                let reply = try await session.decide([["tool_call_id": .string(callID), "approved": true]])
                #expect(reply.json == ["accepted": 1, "status": "active"], "\(reply.text)")
                let log = try await server.waitForIdle(sessionID)
                #expect(ClientToolTests.finalAnswer(log) == #"Tool results: add={"result":42}"#)
                DurableExecutionTests.expectGapless(log)
            }
            #expect(await worker.terminate() == 0)
        }
    }

    // MARK: - Shared pieces

    /// A session with `test_math` whose `names` (all tools when nil) need approval.
    static func approvalSession(_ names: [String]?, tools: [JSONValue] = []) -> JSONValue {
        let approval: JSONValue =
            if let names { ["ref": "tool_approval", "config": ["tools": .array(names.map { .string($0) })]] } else {
                ["ref": "tool_approval"]
            }
        return ["capabilities": [["ref": "test_math"], approval], "tools": .array(tools)]
    }

    static let guardedTool: JSONValue = [
        "type": "client_side", "name": "launch", "description": "Launches something", "policy": "requires_approval",
        "parameters": ["type": "object", "properties": ["target": ["type": "string"]]],
    ]
}

extension ClientToolSession {
    func get() async throws -> JSONValue { try await server.request(.get, "/v1/sessions/\(id)").json }

    func decide(_ decisions: [JSONValue]) async throws -> TestServer.Reply {
        try await server.request(.post, "/v1/sessions/\(id)/tool-approvals", json: ["decisions": .array(decisions)])
    }

    func answer(_ answers: [String], callID: String? = nil) async throws -> TestServer.Reply {
        var body: [String: JSONValue] = ["answers": .array(answers.map { .string($0) })]
        if let callID { body["tool_call_id"] = .string(callID) }
        return try await server.request(.post, "/v1/sessions/\(id)/question-answers", json: .object(body))
    }

    /// Waits (bounded) for the turn to hold calls for approval; returns the held calls.
    func waitForApprovalRequest() async throws -> [JSONValue] {
        try await server.waitForEvent(id, "tool.approval_requested")
        return try await events().last { $0["type"] == "tool.approval_requested" }?["data"]?["tool_calls"]?.arrayValue ?? []
    }
}
