import Foundation
import KeelCore
import KeelTestSupport
import Testing

/// Client-side tools end to end over HTTP: the model calls a tool the client runs, the turn waits
/// (`tool.call_requested`, session `waitingfortoolresults`) until `POST /v1/sessions/{id}/tool-results`,
/// a deadline, a new message or a cancel ends the wait. Every scenario runs in memory (DEV_MODE)
/// and on PostgreSQL with the steps on a separate `keel worker` process; the wait surviving a
/// server restart is PostgreSQL's alone.
@Suite("client-side tools", .serialized)
struct ClientToolTests {
    // MARK: - The round trip

    @Test("round trip: server tools first, then the request; the results resume the act step and finish the turn",
          arguments: ClientToolSetup.allCases)
    func roundTrip(_ setup: ClientToolSetup) async throws {
        try await ClientToolHarness.run(setup) { fixture in
            let session = try await fixture.session(["capabilities": [["ref": "test_math"]], "tools": [Self.weatherTool]])
            #expect(try await session.send(#"[[tool:add {"a":2,"b":3}]] [[tool:get_weather {"city":"Paris"}]]"#).status == 201)
            let calls = try await session.waitForRequest()
            // A client acting on the event finds the session already waiting.
            #expect(try await session.status() == "waitingfortoolresults")
            try #require(calls.count == 1, "\(calls)")
            let call = calls[0]
            #expect(call["name"] == "get_weather")
            #expect(call["arguments"] == ["city": "Paris"])
            let callID = try #require(call["id"]?.stringValue)

            let waiting = try await session.events()
            let addCompleted = try #require(waiting.firstIndex { Self.isCompleted($0, tool: "add") }, "\(waiting.types)")
            let requested = try #require(waiting.firstIndex { $0["type"] == "tool.call_requested" })
            #expect(addCompleted < requested, "the server tool of the step runs before the client is asked")
            #expect(waiting[addCompleted]["data"]?["success"] == true)
            #expect(Self.started(waiting) == ["add"], "the client tool is not started on the server")
            #expect(!waiting.types.contains("act.completed"), "the act step is not over while the client runs")
            #expect(try await fixture.heldTasks() == 0, "the wait holds no task")
            #expect(try await session.messages().roles == ["user", "agent", "tool_result"])

            let reply = try await session.post([Self.result(callID, ["temp": 21, "unit": "C"])])
            #expect(reply.status == 200, "\(reply.text)")
            #expect(reply.json == ["accepted": 1, "status": "active"])
            let log = try await fixture.server.waitForIdle(session.id)

            let resumed = Array(log.types.drop { $0 != "tool.call_requested" })
            #expect(Array(resumed.prefix(4)) == ["tool.call_requested", "tool.completed", "act.completed", "reason.started"],
                    "\(resumed)")
            #expect(resumed.suffix(2) == ["turn.completed", "session.idled"], "\(resumed)")
            #expect(DurableExecutionTests.count(log, "act.started") == 1, "the resumed act step does not start again")
            #expect(DurableExecutionTests.count(log, "tool.call_requested") == 1)
            #expect(Self.started(log) == ["add"], "the recorded server call is not run again")
            let clientResult = try #require(log.first { Self.isCompleted($0, tool: "get_weather") }?["data"])
            #expect(clientResult["tool_call_id"]?.stringValue == callID)
            #expect(clientResult["status"] == "success")
            #expect(clientResult["success"] == true)
            #expect(clientResult["result"] == ["temp": 21, "unit": "C"])
            let act = log.first { $0["type"] == "act.completed" }?["data"]
            #expect(act?["success_count"] == 2)
            #expect(act?["error_count"] == 0)
            #expect(act?["completed"] == true)
            #expect(log.first { $0["type"] == "turn.completed" }?["data"]?["iterations"] == 2)
            #expect(Self.finalAnswer(log) == #"Tool results: get_weather={"temp":21,"unit":"C"}"#)

            let messages = try await session.messages()
            #expect(messages.roles == ["user", "agent", "tool_result", "tool_result", "agent"])
            let results = messages.filter { $0["role"] == "tool_result" }.compactMap { $0["content"]?.arrayValue?.first }
            #expect(results.map { $0["type"] } == ["tool_result", "tool_result"])
            #expect(results.last?["tool_call_id"]?.stringValue == callID, "results in call order: add, then get_weather")
            #expect(results.last?["result"] == ["temp": 21, "unit": "C"])
            #expect(results.first?["tool_call_id"] == log[addCompleted]["data"]?["tool_call_id"])

            #expect(try await session.status() == "idle")
            Self.expectNotWaiting(try await session.post([Self.result(callID, "again")]))
            DurableExecutionTests.expectGapless(log)
        }
    }

    @Test("an agent's tool of type client, answered with an error: recorded as an error result the model sees",
          arguments: ClientToolSetup.allCases)
    func agentToolErrorResult(_ setup: ClientToolSetup) async throws {
        try await ClientToolHarness.run(setup) { fixture in
            let agent = try await fixture.server.request(
                .post, "/v1/agents",
                json: ["name": "asker", "system_prompt": "Ask.", "tools": [["type": "client", "name": "ask_user"]]])
            #expect(agent.status == 201, "\(agent.text)")
            let session = try await fixture.session(["agent_id": agent.json["id"] ?? .null])
            _ = try await session.send(#"[[tool:ask_user {"question":"Which file?"}]]"#)
            let calls = try await session.waitForRequest()
            #expect(calls.map { $0["name"] } == ["ask_user"])
            #expect(calls.first?["arguments"] == ["question": "Which file?"])
            let callID = try #require(calls.first?["id"]?.stringValue)

            let reply = try await session.post([["tool_call_id": .string(callID), "error": "user declined"]])
            #expect(reply.json == ["accepted": 1, "status": "active"], "\(reply.text)")
            let log = try await fixture.server.waitForIdle(session.id)
            let completed = log.first { Self.isCompleted($0, tool: "ask_user") }?["data"]
            #expect(completed?["status"] == "error")
            #expect(completed?["success"] == false)
            #expect(completed?["error"] == "user declined")
            let act = log.first { $0["type"] == "act.completed" }?["data"]
            #expect(act?["success_count"] == 0)
            #expect(act?["error_count"] == 1)
            #expect(Self.finalAnswer(log) == "Tool results: ask_user=user declined")
            let part = try await session.messages().first { $0["role"] == "tool_result" }?["content"]?.arrayValue?.first
            #expect(part?["error"] == "user declined")
            #expect(DurableExecutionTests.count(log, "turn.completed") == 1)
        }
    }

    @Test("partial results: the turn waits for the rest; a repeated id is refused and records nothing",
          arguments: ClientToolSetup.allCases)
    func partialResults(_ setup: ClientToolSetup) async throws {
        try await ClientToolHarness.run(setup) { fixture in
            let session = try await fixture.session(["tools": [Self.lookupTool]])
            _ = try await session.send(#"[[tool:lookup {"q":"first"}]] [[tool:lookup {"q":"second"}]]"#)
            let calls = try await session.waitForRequest()
            #expect(calls.map { $0["arguments"]?["q"] } == ["first", "second"])
            let ids = calls.compactMap { $0["id"]?.stringValue }
            try #require(ids.count == 2 && ids[0] != ids[1], "\(calls)")

            let first = try await session.post([Self.result(ids[0], ["answer": "A"])])
            #expect(first.status == 200, "\(first.text)")
            #expect(first.json == ["accepted": 1, "status": "waitingfortoolresults"])
            #expect(try await session.status() == "waitingfortoolresults")
            let between = try await session.events()
            #expect(Self.completedCallIDs(between) == [ids[0]])
            #expect(!between.types.contains("act.completed"))

            Self.expectError(try await session.post([Self.result(ids[0], "again")]), 400, "duplicate_tool_result")
            // One answered id spoils the whole request: the other is not recorded either.
            Self.expectError(
                try await session.post([Self.result(ids[1], ["answer": "B"]), Self.result(ids[0], "again")]), 400,
                "duplicate_tool_result")
            #expect(Self.completedCallIDs(try await session.events()) == [ids[0]])
            #expect(try await session.status() == "waitingfortoolresults")

            let last = try await session.post([Self.result(ids[1], ["answer": "B"])])
            #expect(last.json == ["accepted": 1, "status": "active"], "\(last.text)")
            let log = try await fixture.server.waitForIdle(session.id)
            #expect(Self.completedCallIDs(log) == ids, "one result per call")
            #expect(log.first { $0["type"] == "act.completed" }?["data"]?["success_count"] == 2)
            // The sim summarises the last tool_result message only: the second call's.
            #expect(Self.finalAnswer(log) == #"Tool results: lookup={"answer":"B"}"#)
            let parts = try await session.messages().filter { $0["role"] == "tool_result" }
                .compactMap { $0["content"]?.arrayValue?.first }
            #expect(parts.compactMap { $0["tool_call_id"]?.stringValue } == ids)
            #expect(parts.map { $0["result"] } == [["answer": "A"], ["answer": "B"]])
            DurableExecutionTests.expectGapless(log)
        }
    }

    @Test("concurrent submissions, one per call: exactly one of them resumes the turn, which resumes once",
          arguments: ClientToolSetup.allCases)
    func concurrentSubmissions(_ setup: ClientToolSetup) async throws {
        try await ClientToolHarness.run(setup) { fixture in
            // A few rounds: the race between the last two submissions is what is under test.
            for round in 0..<3 {
                let session = try await fixture.session(["tools": [Self.lookupTool]])
                _ = try await session.send(#"[[tool:lookup {"q":"a"}]] [[tool:lookup {"q":"b"}]] [[tool:lookup {"q":"c"}]]"#)
                let ids = try await session.waitForRequest().compactMap { $0["id"]?.stringValue }
                try #require(ids.count == 3)
                let replies = try await withThrowingTaskGroup(of: TestServer.Reply.self) { group in
                    for id in ids { group.addTask { try await session.post([Self.result(id, .string(id))]) } }
                    return try await group.reduce(into: [TestServer.Reply]()) { $0.append($1) }
                }
                #expect(replies.map(\.status) == [200, 200, 200], "round \(round)")
                #expect(replies.compactMap { $0.json["status"]?.stringValue }.sorted()
                    == ["active", "waitingfortoolresults", "waitingfortoolresults"], "round \(round)")
                let log = try await fixture.server.waitForIdle(session.id)
                #expect(Self.completedCallIDs(log).sorted() == ids.sorted(), "round \(round)")
                #expect(DurableExecutionTests.count(log, "act.completed") == 1, "round \(round)")
                #expect(DurableExecutionTests.count(log, "reason.started") == 2, "round \(round): the turn resumed once")
                #expect(DurableExecutionTests.count(log, "turn.completed") == 1, "round \(round)")
                DurableExecutionTests.expectGapless(log)
            }
        }
    }

    @Test("a turn waits twice: each act step asks the client, and the provider sees each result after its call",
          arguments: ClientToolSetup.allCases)
    func twoWaitsInOneTurn(_ setup: ClientToolSetup) async throws {
        let secondCallID = "call_Zr8kLm2Qv5Tx9Wb4Nc7Hd1Ys"
        let secondCall = OpenAIWire.toolCallAdd.map { $0.replacingOccurrences(of: OpenAIWire.callID, with: secondCallID) }
        let script = [FakeReply.stream(OpenAIWire.toolCallAdd), .stream(secondCall), .stream(OpenAIWire.finalText)]
        try await FakeProviderServer.run(script: script) { provider, baseURL in
            try await ClientToolHarness.run(setup, extra: Self.providerEnvironment(baseURL)) { fixture in
                // `add` is the client's here: the session has no test_math.
                let session = try await fixture.session([
                    "model_id": "openai/gpt-4o-mini", "tools": [["type": "client_side", "name": "add"]],
                ])
                _ = try await session.send("add two and three, twice")
                #expect(try await session.waitForRequest().first?["id"]?.stringValue == OpenAIWire.callID)
                #expect(try await session.post([Self.result(OpenAIWire.callID, 5)]).json["status"] == "active")
                try await session.waitForEvents("second tool.call_requested") {
                    DurableExecutionTests.count($0, "tool.call_requested") == 2
                }
                #expect(try await session.status() == "waitingfortoolresults")
                #expect(try await session.waitForRequest().first?["id"]?.stringValue == secondCallID)
                Self.expectError(try await session.post([Self.result(OpenAIWire.callID, 5)]), 400, "unknown_tool_call")
                #expect(try await session.post([Self.result(secondCallID, 10)]).json["status"] == "active")

                let log = try await fixture.server.waitForIdle(session.id)
                #expect(DurableExecutionTests.count(log, "act.started") == 2)
                #expect(DurableExecutionTests.count(log, "act.completed") == 2)
                #expect(Self.completedCallIDs(log) == [OpenAIWire.callID, secondCallID])
                #expect(log.first { $0["type"] == "turn.completed" }?["data"]?["iterations"] == 3)
                #expect(Self.finalAnswer(log) == ProviderEndToEndTests.finalText)
                #expect(provider.count == 3)
                let last = provider.requests.last?.body["messages"]?.arrayValue ?? []
                #expect(last.compactMap { $0["role"]?.stringValue } == ["system", "user", "assistant", "tool", "assistant", "tool"])
                #expect(last.filter { $0["role"] == "tool" }.compactMap { $0["tool_call_id"]?.stringValue }
                    == [OpenAIWire.callID, secondCallID])
                #expect(last.last?["content"]?.stringValue?.contains("10") == true, "\(String(describing: last.last))")
            }
        }
    }

    // MARK: - Refused submissions

    @Test("refused submissions: 409 when nothing waits; 400 for unknown, repeated, empty, oversized or too many results",
          arguments: ClientToolSetup.allCases)
    func refusedSubmissions(_ setup: ClientToolSetup) async throws {
        try await ClientToolHarness.run(setup) { fixture in
            let session = try await fixture.session(["tools": [Self.weatherTool]])
            Self.expectNotWaiting(try await session.post([Self.result("call_nothing", 1)]))
            let deleted = try await fixture.session([:])
            #expect((200..<300).contains(try await fixture.server.request(.delete, "/v1/sessions/\(deleted.id)").status))
            Self.expectError(try await deleted.post([Self.result("call_gone", 1)]), 404, nil)

            _ = try await session.send(#"[[tool:get_weather {"city":"Rome"}]]"#)
            let callID = try #require(try await session.waitForRequest().first?["id"]?.stringValue)

            Self.expectError(try await session.post([]), 400, nil)
            Self.expectError(try await fixture.server.request(.post, session.path, json: ["results": []]), 400, nil)
            Self.expectError(try await fixture.server.request(.post, session.path, raw: "{not json"), 400, nil)
            Self.expectError(try await session.post([Self.result("call_unknown", 1)]), 400, "unknown_tool_call")
            Self.expectError(try await session.post([Self.result(callID, 1), Self.result(callID, 2)]), 400, "duplicate_tool_result")
            Self.expectError(try await session.post([Self.result("", 1)]), 400, nil)
            Self.expectError(try await session.post([Self.result(String(repeating: "c", count: 257), 1)]), 400, nil)
            // 100 KB: the result's JSON text plus the error text; one byte over is refused.
            let limit = 100 * 1024
            let overResult = JSONValue.string(String(repeating: "r", count: limit - 1))
            Self.expectError(try await session.post([Self.result(callID, overResult)]), 400, "input_too_large")
            let overError: JSONValue = ["tool_call_id": .string(callID), "error": .string(String(repeating: "e", count: limit + 1))]
            Self.expectError(try await session.post([overError]), 400, "input_too_large")
            let split: JSONValue = [
                "tool_call_id": .string(callID), "result": .string(String(repeating: "r", count: limit / 2)),
                "error": .string(String(repeating: "e", count: limit / 2)),
            ]
            Self.expectError(try await session.post([split]), 400, "input_too_large")
            // At most 128 results: 129 is too many; 128 pass the count and fail on their ids.
            let many = (0..<129).map { Self.result("call_\($0)", 1) }
            Self.expectError(try await session.post(many), 400, "input_too_large")
            Self.expectError(try await session.post(Array(many.prefix(128))), 400, "unknown_tool_call")

            // None of it was recorded: the call is still pending.
            #expect(try await session.status() == "waitingfortoolresults")
            #expect(Self.completedCallIDs(try await session.events()).isEmpty)

            // Exactly 100 KB is accepted and recorded whole.
            let atLimit = String(repeating: "r", count: limit - 2)
            let accepted = try await session.post([Self.result(callID, .string(atLimit))])
            #expect(accepted.json == ["accepted": 1, "status": "active"], "\(accepted.text.prefix(300))")
            let log = try await fixture.server.waitForIdle(session.id)
            let recorded = log.first { Self.isCompleted($0, tool: "get_weather") }?["data"]?["result"]?.stringValue
            #expect(recorded?.count == atLimit.count)
            #expect(DurableExecutionTests.count(log, "turn.completed") == 1)
            Self.expectNotWaiting(try await session.post([Self.result(callID, 1)]))
        }
    }

    @Test("a server tool of the step still running: nothing is requested yet and results are refused",
          arguments: ClientToolSetup.allCases)
    func serverToolStillRunning(_ setup: ClientToolSetup) async throws {
        try await ClientToolHarness.run(setup) { fixture in
            try await SlowPage.run { page in
                let session = try await fixture.session(["capabilities": [["ref": "web_fetch"]], "tools": [Self.weatherTool]])
                let fetch = #"{"url":"\#(page.url)"}"#
                _ = try await session.send(#"[[tool:web_fetch \#(fetch)]] [[tool:get_weather {"city":"Oslo"}]]"#)
                try await fixture.server.waitForEvent(session.id, "tool.started")
                try await page.waitForHits(1)
                // The fetch hangs until released: the step cannot have asked the client yet.
                let running = try await session.events()
                #expect(!running.types.contains("tool.call_requested"))
                #expect(try await session.status() == "active")
                Self.expectNotWaiting(try await session.post([Self.result("call_early", 1)]))
                page.release()

                let callID = try #require(try await session.waitForRequest().first?["id"]?.stringValue)
                let waiting = try await session.events()
                let fetched = try #require(waiting.firstIndex { Self.isCompleted($0, tool: "web_fetch") })
                #expect(fetched < (waiting.firstIndex { $0["type"] == "tool.call_requested" } ?? -1))
                _ = try await session.post([Self.result(callID, "sunny")])
                let log = try await fixture.server.waitForIdle(session.id)
                #expect(Self.started(log) == ["web_fetch"], "the fetch is not run again when the step resumes")
                #expect(page.hits == 1)
                #expect(Self.finalAnswer(log) == #"Tool results: get_weather="sunny""#)
                #expect(DurableExecutionTests.count(log, "turn.completed") == 1)
            }
        }
    }

    @Test("no wait: a call at the iteration cap is not requested; a client tool named like a server tool runs on the server",
          arguments: ClientToolSetup.allCases)
    func callsThatDoNotWait(_ setup: ClientToolSetup) async throws {
        try await ClientToolHarness.run(setup) { fixture in
            let capped = try await fixture.session(["tools": [Self.weatherTool], "max_iterations": 1])
            _ = try await capped.send(#"[[tool:get_weather {"city":"Lima"}]]"#)
            let cappedLog = try await fixture.server.waitForIdle(capped.id)
            #expect(!cappedLog.types.contains("tool.call_requested"))
            #expect(cappedLog.first { Self.isCompleted($0, tool: "get_weather") }?["data"]?["status"] == "cancelled")
            #expect(cappedLog.first { $0["type"] == "turn.completed" }?["data"]?["status"] == "max_iterations")

            let shadowed = try await fixture.session([
                "capabilities": [["ref": "test_math"]], "tools": [["type": "client_side", "name": "add"]],
            ])
            _ = try await shadowed.send(#"[[tool:add {"a":2,"b":3}]]"#)
            let shadowedLog = try await fixture.server.waitForIdle(shadowed.id)
            #expect(!shadowedLog.types.contains("tool.call_requested"))
            #expect(Self.started(shadowedLog) == ["add"])
            #expect(shadowedLog.first { Self.isCompleted($0, tool: "add") }?["data"]?["success"] == true)
            #expect(DurableExecutionTests.count(shadowedLog, "turn.completed") == 1)
        }
    }

    // MARK: - Ends of the wait other than the results

    @Test("timeout: pending calls get error results after TOOL_RESULT_TIMEOUT_SECS and the turn goes on",
          arguments: ClientToolSetup.allCases)
    func timeout(_ setup: ClientToolSetup) async throws {
        try await ClientToolHarness.run(setup, extra: ["TOOL_RESULT_TIMEOUT_SECS": "2"]) { fixture in
            let session = try await fixture.session(["tools": [Self.lookupTool]])
            _ = try await session.send(#"[[tool:lookup {"q":"answered"}]] [[tool:lookup {"q":"forgotten"}]]"#)
            let ids = try await session.waitForRequest().compactMap { $0["id"]?.stringValue }
            try #require(ids.count == 2)
            let partial = try await session.post([Self.result(ids[0], "here")])
            #expect(partial.json == ["accepted": 1, "status": "waitingfortoolresults"], "\(partial.text)")

            let log = try await fixture.server.waitForIdle(session.id)
            let completed = log.filter { Self.isCompleted($0, tool: "lookup") }.compactMap { $0["data"] }
            #expect(completed.compactMap { $0["tool_call_id"]?.stringValue } == ids, "one result per call, none twice")
            #expect(completed.first?["result"] == "here", "the answered call keeps its result")
            let timedOut = completed.last
            #expect(timedOut?["status"] == "error")
            #expect(timedOut?["error"] == "Timed out waiting for client tool results")
            #expect((timedOut?["duration_ms"]?.intValue ?? 0) >= 1900, "not before the deadline: \(String(describing: timedOut))")
            let act = log.first { $0["type"] == "act.completed" }?["data"]
            #expect(act?["success_count"] == 1)
            #expect(act?["error_count"] == 1)
            #expect(Self.finalAnswer(log) == "Tool results: lookup=Timed out waiting for client tool results")
            #expect(DurableExecutionTests.count(log, "turn.completed") == 1)
            #expect(try await session.status() == "idle")
            Self.expectNotWaiting(try await session.post([Self.result(ids[1], "late")]))
            DurableExecutionTests.expectGapless(log)
        }
    }

    @Test("a new message during the wait: pending calls are cancelled, the turn ends, the message runs next",
          arguments: ClientToolSetup.allCases)
    func newMessageDuringWait(_ setup: ClientToolSetup) async throws {
        try await ClientToolHarness.run(setup) { fixture in
            let session = try await fixture.session(["tools": [Self.weatherTool]])
            _ = try await session.send(#"[[tool:get_weather {"city":"Kyiv"}]]"#)
            let callID = try #require(try await session.waitForRequest().first?["id"]?.stringValue)
            #expect(try await session.status() == "waitingfortoolresults")
            #expect(try await session.send("never mind").status == 201)

            let log = try await fixture.server.waitForIdle(session.id, turns: 2)
            let turns = TurnEvents.split(log)
            try #require(turns.count == 2, "\(log.types)")
            let superseded = turns[0].all("tool.completed").first { $0["data"]?["tool_call_id"]?.stringValue == callID }?["data"]
            #expect(superseded?["status"] == "error")
            #expect(superseded?["error"] == "Cancelled: user sent a new message")
            #expect(turns[0].first("act.completed")?["data"]?["error_count"] == 1)
            #expect(turns[0].first("turn.completed") != nil, "the waiting turn goes on to its end")
            #expect(Self.finalAnswer(turns[0].events) == "Tool results: get_weather=Cancelled: user sent a new message")
            #expect(Self.finalAnswer(turns[1].events) == "Echo: never mind")
            #expect(DurableExecutionTests.count(log, "turn.completed") == 2)
            #expect(DurableExecutionTests.count(log, "tool.completed") == 1)
            #expect(try await session.status() == "idle")
            Self.expectNotWaiting(try await session.post([Self.result(callID, "late")]))
            DurableExecutionTests.expectGapless(log)
        }
    }

    @Test("a new message during the wait, with a real provider: the next turn's conversation keeps each result after its call",
          arguments: ClientToolSetup.allCases)
    func newMessageConversationOrder(_ setup: ClientToolSetup) async throws {
        let script = [FakeReply.stream(OpenAIWire.toolCallAdd), .stream(OpenAIWire.finalText), .stream(OpenAIWire.finalText)]
        try await FakeProviderServer.run(script: script) { provider, baseURL in
            try await ClientToolHarness.run(setup, extra: Self.providerEnvironment(baseURL)) { fixture in
                let session = try await fixture.session([
                    "model_id": "openai/gpt-4o-mini", "tools": [["type": "client_side", "name": "add"]],
                ])
                _ = try await session.send("add two and three")
                _ = try await session.waitForRequest()
                _ = try await session.send("never mind")
                let log = try await fixture.server.waitForIdle(session.id, turns: 2)
                #expect(DurableExecutionTests.count(log, "turn.completed") == 2)
                try #require(provider.count == 3)
                let roles = provider.requests.map { request in
                    (request.body["messages"]?.arrayValue ?? []).compactMap { $0["role"]?.stringValue }
                }
                // The waiting turn goes on without the new message.
                #expect(roles[1] == ["system", "user", "assistant", "tool"])
                #expect(provider.requests[1].body["messages"]?.arrayValue?.last?["content"] == "Cancelled: user sent a new message")
                // The new message was logged mid-turn; the next turn's history has it after the
                // first turn's result and answer (a tool message must follow its call).
                #expect(roles[2] == ["system", "user", "assistant", "tool", "assistant", "user"])
                #expect(provider.requests[2].body["messages"]?.arrayValue?.last?["content"] == "never mind")
            }
        }
    }

    @Test("cancel during the wait: the turn ends like any cancel, later results are refused, the session carries on",
          arguments: ClientToolSetup.allCases)
    func cancelDuringWait(_ setup: ClientToolSetup) async throws {
        try await ClientToolHarness.run(setup) { fixture in
            let session = try await fixture.session(["tools": [Self.weatherTool]])
            _ = try await session.send(#"[[tool:get_weather {"city":"Quito"}]]"#)
            let callID = try #require(try await session.waitForRequest().first?["id"]?.stringValue)

            let cancel = try await fixture.server.request(.post, "/v1/sessions/\(session.id)/cancel", json: [:])
            #expect(cancel.status == 200)
            #expect(cancel.json["status"] == "cancelled", "\(cancel.text)")
            let log = try await fixture.server.waitForIdle(session.id)
            let afterRequest = Array(log.types.drop { $0 != "tool.call_requested" }.dropFirst())
            #expect(afterRequest == TurnLifecycleTests.cancellation, "\(afterRequest)")
            #expect(log.first { $0["type"] == "turn.cancelled" }?["data"]?["reason"] == "user_requested")
            #expect(try await session.status() == "idle")
            Self.expectNotWaiting(try await session.post([Self.result(callID, "late")]))
            #expect(try await fixture.heldTasks() == 0)

            _ = try await session.send("still there?")
            let next = try await fixture.server.waitForIdle(session.id, turns: 2)
            #expect(Self.finalAnswer(next) == "Echo: still there?")
            #expect(!next.contains { Self.isCompleted($0, tool: "get_weather") }, "the cancelled call never gets a result")
            #expect(DurableExecutionTests.count(next, "turn.completed") == 1)
            DurableExecutionTests.expectGapless(next)
        }
    }

    // MARK: - Restart (PostgreSQL)

    @Test("the wait survives a server restart: results posted to the new server finish the turn",
          arguments: [WorkerAcrossRestart.killedAndReplaced, .kept])
    func resumeAfterRestart(_ worker: WorkerAcrossRestart) async throws {
        try await PostgresPersistenceTests.withDatabase { url in
            let port = try freeLoopbackPort()
            let environment = ClientToolHarness.postgresEnvironment(url, grpcPort: port)
            let first = try WorkerProcess.start(port: port)
            let (sessionID, callID) = try await TestServer.run(environment: environment) { server in
                let fixture = ClientToolFixture(server: server, databaseURL: url)
                let session = try await fixture.session(["capabilities": [["ref": "test_math"]], "tools": [Self.weatherTool]])
                _ = try await session.send(#"[[tool:add {"a":4,"b":5}]] [[tool:get_weather {"city":"Bern"}]]"#)
                let callID = try #require(try await session.waitForRequest().first?["id"]?.stringValue)
                #expect(try await session.status() == "waitingfortoolresults")
                return (session.id, callID)
            }
            if worker == .killedAndReplaced { first.kill9() }

            try await TestServer.run(environment: environment) { server in
                let fixture = ClientToolFixture(server: server, databaseURL: url)
                let session = ClientToolSession(server: server, id: sessionID)
                #expect(try await session.status() == "waitingfortoolresults")
                Self.expectError(try await session.post([Self.result("call_unknown", 1)]), 400, "unknown_tool_call")
                let reply = try await session.post([Self.result(callID, ["temp": 3])])
                #expect(reply.json == ["accepted": 1, "status": "active"], "\(reply.text)")
                let second = worker == .killedAndReplaced ? try WorkerProcess.start(port: port) : nil
                let log = try await server.waitForIdle(sessionID)
                #expect(DurableExecutionTests.count(log, "turn.completed") == 1, "\(log.types)")
                #expect(DurableExecutionTests.count(log, "act.started") == 1)
                #expect(Self.started(log) == ["add"], "the server call before the restart is not run again")
                #expect(log.first { $0["type"] == "act.completed" }?["data"]?["success_count"] == 2)
                #expect(Self.finalAnswer(log) == #"Tool results: get_weather={"temp":3}"#)
                #expect(try await fixture.heldTasks() == 0)
                DurableExecutionTests.expectGapless(log)
                DurableExecutionTests.expectNoDuplicateMessages(log)
                if let second { #expect(await second.terminate() == 0) }
            }
            if worker == .kept { #expect(await first.terminate() == 0, "the worker outlived the restart") }
        }
    }

    @Test("the deadline survives a server restart: the new server times the wait out and finishes the turn")
    func deadlineAfterRestart() async throws {
        try await PostgresPersistenceTests.withDatabase { url in
            let port = try freeLoopbackPort()
            let environment = ClientToolHarness.postgresEnvironment(url, grpcPort: port)
                .merging(["TOOL_RESULT_TIMEOUT_SECS": "2"]) { $1 }
            let worker = try WorkerProcess.start(port: port)
            let sessionID = try await TestServer.run(environment: environment) { server in
                let session = try await ClientToolFixture(server: server, databaseURL: url).session(["tools": [Self.weatherTool]])
                _ = try await session.send(#"[[tool:get_weather {"city":"Oslo"}]]"#)
                _ = try await session.waitForRequest()
                return session.id
            }
            try await TestServer.run(environment: environment) { server in
                let log = try await server.waitForIdle(sessionID)
                let timedOut = log.first { Self.isCompleted($0, tool: "get_weather") }?["data"]
                #expect(timedOut?["error"] == "Timed out waiting for client tool results")
                #expect(Self.finalAnswer(log) == "Tool results: get_weather=Timed out waiting for client tool results")
                #expect(DurableExecutionTests.count(log, "turn.completed") == 1)
                DurableExecutionTests.expectGapless(log)
            }
            #expect(await worker.terminate() == 0)
        }
    }

    enum WorkerAcrossRestart: String, Sendable, CustomTestStringConvertible {
        /// SIGKILLed during the wait; a new worker starts after the results are posted.
        case killedAndReplaced
        /// The same worker reconnects to the new server.
        case kept

        var testDescription: String { rawValue }
    }

    // MARK: - Shared pieces

    static let weatherTool: JSONValue = [
        "type": "client_side", "name": "get_weather", "description": "The weather in a city",
        "parameters": ["type": "object", "properties": ["city": ["type": "string"]], "required": ["city"]],
    ]
    static let lookupTool: JSONValue = [
        "type": "client_side", "name": "lookup", "description": "Looks something up on the client",
        "parameters": ["type": "object", "properties": ["q": ["type": "string"]]],
    ]

    static func providerEnvironment(_ baseURL: String) -> [String: String] {
        ["OPENAI_BASE_URL": baseURL + "/v1", "DEFAULT_OPENAI_API_KEY": "sk-client-tools-key"]
    }

    static func result(_ callID: String, _ value: JSONValue) -> JSONValue {
        ["tool_call_id": .string(callID), "result": value]
    }

    static func isCompleted(_ event: JSONValue, tool name: String) -> Bool {
        event["type"] == "tool.completed" && event["data"]?["tool_name"]?.stringValue == name
    }

    /// Names of the tools started on the server, in log order.
    static func started(_ log: [JSONValue]) -> [String] {
        log.filter { $0["type"] == "tool.started" }.compactMap { $0["data"]?["tool_call"]?["name"]?.stringValue }
    }

    static func completedCallIDs(_ log: [JSONValue]) -> [String] {
        log.filter { $0["type"] == "tool.completed" }.compactMap { $0["data"]?["tool_call_id"]?.stringValue }
    }

    static func finalAnswer(_ log: [JSONValue]) -> String? {
        ProviderEndToEndTests.text(ofMessage: log.last { $0["type"] == "output.message.completed" }?["data"]?["message"])
    }

    static func expectError(
        _ reply: TestServer.Reply, _ status: Int, _ code: String?, sourceLocation: SourceLocation = #_sourceLocation
    ) {
        #expect(reply.status == status, "\(reply.text.prefix(300))", sourceLocation: sourceLocation)
        if let code {
            #expect(reply.json["error"]?["code"]?.stringValue == code, "\(reply.text.prefix(300))", sourceLocation: sourceLocation)
        }
    }

    static func expectNotWaiting(_ reply: TestServer.Reply, sourceLocation: SourceLocation = #_sourceLocation) {
        expectError(reply, 409, "not_waiting", sourceLocation: sourceLocation)
        #expect(reply.json["error"]?["message"] == "Session is not waiting for tool results", sourceLocation: sourceLocation)
    }
}

/// Where the client-tool scenarios run.
enum ClientToolSetup: String, CaseIterable, Sendable, CustomTestStringConvertible {
    /// DEV_MODE: in-memory store, steps run in-process.
    case memory
    /// PostgreSQL, no embedded executors: every step runs on a separate `keel worker` process.
    case postgresWorker

    var testDescription: String { rawValue }
}

/// A running server of one setup; `databaseURL` is set on PostgreSQL.
struct ClientToolFixture: Sendable {
    let server: TestServer
    let databaseURL: String?

    func session(_ body: JSONValue) async throws -> ClientToolSession {
        ClientToolSession(server: server, id: try await server.createSession(body))
    }

    /// Durable tasks waiting or claimed (0 in memory, where there is no task table to read).
    func heldTasks() async throws -> Int {
        guard let databaseURL else { return 0 }
        return try await DurableLifecycleTests.count(
            "SELECT count(*)::int8 FROM durable_tasks WHERE status IN ('pending', 'claimed')", databaseURL)
    }
}

/// One session of a fixture, with the requests the scenarios make.
struct ClientToolSession: Sendable {
    let server: TestServer
    let id: String

    var path: String { "/v1/sessions/\(id)/tool-results" }

    func send(_ text: String) async throws -> TestServer.Reply { try await server.send(id, text) }

    func post(_ results: [JSONValue]) async throws -> TestServer.Reply {
        try await server.request(.post, path, json: ["tool_results": .array(results)])
    }

    func status() async throws -> String? {
        try await server.request(.get, "/v1/sessions/\(id)").json["status"]?.stringValue
    }

    func events() async throws -> [JSONValue] { try await server.events(id) }

    func messages() async throws -> [JSONValue] {
        try await server.request(.get, "/v1/sessions/\(id)/messages").json["data"]?.arrayValue ?? []
    }

    /// Waits (bounded) until the session's events satisfy `condition`; returns them.
    @discardableResult
    func waitForEvents(_ what: String, timeout: Duration = .seconds(30), _ condition: ([JSONValue]) -> Bool) async throws
        -> [JSONValue]
    {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            let events = try await events()
            if condition(events) { return events }
            try await Task.sleep(for: .milliseconds(20))
        }
        Issue.record("session \(id): no \(what) in time")
        throw CancellationError()
    }

    /// Waits (bounded) for the turn to ask the client, and returns the calls of the last request.
    func waitForRequest() async throws -> [JSONValue] {
        try await server.waitForEvent(id, "tool.call_requested")
        let request = try await events().last { $0["type"] == "tool.call_requested" }
        return request?["data"]?["tool_calls"]?.arrayValue ?? []
    }
}

extension Array where Element == JSONValue {
    fileprivate var roles: [String] { compactMap { $0["role"]?.stringValue } }
}

enum ClientToolHarness {
    static func postgresEnvironment(_ url: String, grpcPort: Int) -> [String: String] {
        DurableExecutionTests.environment(url, grpcPort: grpcPort).merging(["WEB_FETCH_ALLOW_PRIVATE_ADDRESSES": "true"]) { $1 }
    }

    /// Runs `body` against a server of `setup` with `extra` in its environment; on PostgreSQL with
    /// a fresh database and one worker process, stopped (and expected to stop cleanly) afterwards.
    /// Without `KEEL_TEST_DATABASE_URL` the PostgreSQL setup is skipped, as every PostgreSQL test is.
    static func run(
        _ setup: ClientToolSetup, extra: [String: String] = [:],
        _ body: @escaping @Sendable (ClientToolFixture) async throws -> Void
    ) async throws {
        switch setup {
        case .memory:
            let environment = ["WEB_FETCH_ALLOW_PRIVATE_ADDRESSES": "true"].merging(extra) { $1 }
            try await TestServer.run(environment: environment) { server in
                try await body(ClientToolFixture(server: server, databaseURL: nil))
            }
        case .postgresWorker:
            try await PostgresPersistenceTests.withDatabase { url in
                let port = try freeLoopbackPort()
                try await TestServer.run(environment: postgresEnvironment(url, grpcPort: port).merging(extra) { $1 }) { server in
                    let worker = try WorkerProcess.start(port: port)
                    do {
                        try await body(ClientToolFixture(server: server, databaseURL: url))
                    } catch {
                        await worker.terminate()
                        throw error
                    }
                    #expect(await worker.terminate() == 0, "\(worker.log.suffix(2000))")
                }
            }
        }
    }
}
