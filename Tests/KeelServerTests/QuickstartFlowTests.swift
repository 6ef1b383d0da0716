import Foundation
import KeelCore
import Testing

@Suite("Quickstart flow over HTTP")
struct QuickstartFlowTests {
    @Test("agent → session → message with a tool call → streamed turn → messages")
    func quickstart() async throws {
        try await TestServer.run { server in
            let health = try await server.request(.get, "/health")
            #expect(health.status == 200)
            #expect(health.json["status"] == "ok")

            let agent = try await server.request(
                .post, "/v1/agents",
                json: ["name": "calc", "system_prompt": "You add numbers.", "capabilities": [["ref": "test_math"]]])
            #expect(agent.status == 201, "\(agent.text)")
            let agentID = try #require(agent.json["id"]?.stringValue)
            #expect(PublicID.isValid(agentID, prefix: .agent))
            #expect(agent.json["harness_id"]?.stringValue == BuiltIn.genericHarnessID)
            #expect(agent.json["status"] == "active")

            let sessionID = try await server.createSession(["agent_id": .string(agentID)])
            let session = try await server.request(.get, "/v1/sessions/\(sessionID)")
            #expect(session.json["status"] == "started")
            #expect(session.json["organization_id"]?.stringValue == BuiltIn.organizationID)

            let sse = try await SSEReader.open("\(server.baseURL)/v1/sessions/\(sessionID)/sse")
            let connected = try #require(try await sse.next())
            #expect(connected.event == "connected")

            let sent = try await server.send(sessionID, #"add please [[tool:add {"a":2,"b":3}]]"#)
            #expect(sent.status == 201, "\(sent.text)")
            #expect(sent.json["role"] == "user")

            let frames = try await sse.frames(until: { $0.event == "session.idled" })
            let types = frames.compactMap(\.event)
            let expectedOrder = [
                "input.message", "session.activated", "turn.started", "reason.started", "output.message.started",
                "llm.generation", "output.message.completed", "reason.completed", "act.started", "tool.started",
                "tool.completed", "act.completed", "reason.started", "turn.completed", "session.idled",
            ]
            #expect(isSubsequence(expectedOrder, of: types), "\(types)")
            #expect(types.filter { EventType.terminal.contains(EventType($0)) } == ["turn.completed"])
            for frame in frames where frame.event != "connected" {
                #expect(frame.json?["type"]?.stringValue == frame.event)
                #expect(frame.id == frame.json?["id"]?.stringValue)
            }
            let sequences = frames.compactMap { $0.json?["sequence"]?.intValue }
            #expect(sequences == Array((sequences.first ?? 1)...(sequences.last ?? 0)), "gapless \(sequences)")

            let toolDone = try #require(frames.first { $0.event == "tool.completed" }?.json?["data"])
            #expect(toolDone["success"] == true)
            #expect(toolDone["result"]?["result"]?.doubleValue == 5)

            let messages = try await server.request(.get, "/v1/sessions/\(sessionID)/messages")
            let list = messages.json["data"]?.arrayValue ?? []
            #expect(list.map { $0["role"]?.stringValue ?? "" } == ["user", "agent", "tool_result", "agent"])
            #expect(list.first?["created_at"] == sent.json["created_at"], "timestamps survive a round trip")
            let final = list.last?["content"]?.arrayValue?.first?["text"]?.stringValue ?? ""
            #expect(final.contains("add"), "\(final)")

            let idle = try await server.request(.get, "/v1/sessions/\(sessionID)")
            #expect(idle.json["status"] == "idle")
            #expect((idle.json["usage"]?["input_tokens"]?.intValue ?? 0) > 0)
        }
    }

    @Test("a message sent during a running turn is queued as the next turn, never interleaved")
    func queuedMessages() async throws {
        try await TestServer.run(overrides: .init(simLatency: .milliseconds(5), deltaBatchInterval: .zero)) { server in
            let sessionID = try await server.createSession()
            _ = try await server.send(sessionID, "first message with several words to stream slowly")
            _ = try await server.send(sessionID, "second")
            let events = try await server.waitForIdle(sessionID, turns: 2)
            let turnTypes = events.types.filter { $0 == "turn.started" || EventType.terminal.contains(EventType($0)) }
            #expect(turnTypes == ["turn.started", "turn.completed", "turn.started", "turn.completed"])
            let replies = events.filter { $0["type"] == "output.message.completed" }
                .compactMap { $0["data"]?["message"]?["content"]?.arrayValue?.first?["text"]?.stringValue }
            #expect(replies.count == 2)
            #expect(replies.first?.contains("first") == true)
            #expect(replies.last?.contains("second") == true)
        }
    }

    @Test("cancel stops a running turn promptly and records it; a second cancel is a no-op")
    func cancel() async throws {
        // One word a second: the turn would take 10 s without the cancel.
        try await TestServer.run(overrides: .init(simLatency: .seconds(1), deltaBatchInterval: .zero)) { server in
            let sessionID = try await server.createSession()
            _ = try await server.send(sessionID, "one two three four five six seven eight nine ten")
            // Cancel mid-answer: once the first words are out (the partial answer is kept).
            try await server.waitForEvent(sessionID, "output.message.delta")
            let started = ContinuousClock.now
            let reply = try await server.request(.post, "/v1/sessions/\(sessionID)/cancel", json: [:])
            #expect(reply.status == 200)
            #expect(reply.json["status"] == "cancelled")
            // The rest of the answer would take 9 s more; loose for a loaded machine.
            #expect(ContinuousClock.now - started < .seconds(6))
            let events = try await server.waitForIdle(sessionID)
            #expect(events.types.filter { EventType.terminal.contains(EventType($0)) } == ["turn.cancelled"])
            #expect(events.types.suffix(4) == ["turn.cancelled", "input.message", "output.message.completed", "session.idled"])
            let again = try await server.request(.post, "/v1/sessions/\(sessionID)/cancel", json: [:])
            #expect(again.json["status"] == "no_op")
            #expect(try await server.request(.get, "/v1/sessions/\(sessionID)").json["status"] == "idle")
        }
    }

    @Test("an LLM failure gives the seed's message and turn.failed without provider details")
    func llmFailure() async throws {
        try await TestServer.run { server in
            let sessionID = try await server.createSession()
            _ = try await server.send(sessionID, "please fail [[error]]")
            let events = try await server.waitForIdle(sessionID)
            let failed = try #require(events.first { $0["type"] == "turn.failed" })
            #expect(failed["data"]?["error_code"] == "llm_error")
            let apology = events.filter { $0["type"]?.stringValue == "output.message.completed" }.last
            if apology?["data"]?["message"] == nil { print("DEBUGFAIL", events.map(\.jsonString).joined(separator: "\n")) }
            #expect(apology?["data"]?["message"]?["content"]?.arrayValue?.first?["text"]?.stringValue
                == "I encountered an error while processing your request. Please try again later.")
            #expect(!events.map(\.jsonString).joined().contains("HTTP 500"))
        }
    }

    @Test("a real provider without any key fails the turn cleanly with provider_misconfigured")
    func missingKey() async throws {
        try await TestServer.run { server in
            let sessionID = try await server.createSession(["model_id": "openai/gpt-4o-mini"])
            _ = try await server.send(sessionID, "hello")
            let events = try await server.waitForIdle(sessionID)
            let failed = try #require(events.first { $0["type"] == "turn.failed" })
            #expect(failed["data"]?["error_code"] == "provider_misconfigured")
            #expect(events.types.last == "session.idled")
        }
    }
}

func isSubsequence(_ needle: [String], of haystack: [String]) -> Bool {
    var index = haystack.startIndex
    for item in needle {
        guard let found = haystack[index...].firstIndex(of: item) else { return false }
        index = haystack.index(after: found)
    }
    return true
}
