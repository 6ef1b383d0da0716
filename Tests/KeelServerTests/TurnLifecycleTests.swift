import Foundation
import KeelCore
import KeelTestSupport
import Testing

/// The turn lifecycle, the same in both configurations: every scenario is one test body run
/// against DEV_MODE (in-memory) and durable mode (PostgreSQL), and expects the exact sequence of
/// event types, and the same payloads, from both. Durable mode's sequences are the reference.
/// (Per-event JSON shapes are pinned by the golden tests in KeelCoreTests; these pin order.)
@Suite("turn lifecycle in both configurations", .serialized)
struct TurnLifecycleTests {
    static let activation = ["session.activated", "turn.started"]
    /// One model call that streams `deltas` text deltas.
    static func reason(deltas: Int) -> [String] {
        ["reason.started", "output.message.started"] + Array(repeating: "output.message.delta", count: deltas)
            + ["llm.generation", "output.message.completed", "reason.completed"]
    }
    static let cancellation = ["turn.cancelled", "input.message", "output.message.completed", "session.idled"]

    @Test("tool turn: reason → act → reason → turn.completed", arguments: ServerConfiguration.allCases)
    func toolTurn(_ configuration: ServerConfiguration) async throws {
        try await LifecycleHarness.run(configuration) { fixtures in
            let server = fixtures.server
            let sessionID = try await server.createSession(["capabilities": [["ref": "test_math"]]])
            #expect(try await server.send(sessionID, #"[[tool:add {"a":2,"b":3}]]"#).status == 201)
            let log = try await server.waitForIdle(sessionID)

            let expected =
                ["session.started", "input.message"] + Self.activation + Self.reason(deltas: 0)
                + ["act.started", "tool.started", "tool.completed", "act.completed"]
                + Self.reason(deltas: 3) + ["turn.completed", "session.idled"]
            #expect(log.types == expected)
            let turn = try #require(TurnEvents.split(log).first)
            #expect(turn.first("tool.completed")?["data"]?["success"] == true)
            #expect(turn.first("turn.completed")?["data"]?["iterations"] == 2)
            try await Self.expectLifecycle(server, sessionID, log, iterations: [2])
        }
    }

    @Test("failing model: the provider error ends the turn with turn.failed", arguments: ServerConfiguration.allCases)
    func failingModel(_ configuration: ServerConfiguration) async throws {
        try await LifecycleHarness.run(configuration) { fixtures in
            let server = fixtures.server
            let sessionID = try await server.createSession()
            #expect(try await server.send(sessionID, "please fail [[error]]").status == 201)
            let log = try await server.waitForIdle(sessionID)

            let expected =
                ["session.started", "input.message"] + Self.activation
                + ["reason.started", "output.message.started", "llm.generation", "reason.completed",
                   "output.message.completed", "turn.failed", "session.idled"]
            #expect(log.types == expected)
            let turn = try #require(TurnEvents.split(log).first)
            let failed = turn.first("turn.failed")?["data"]
            #expect(failed?["error_code"] == "llm_error")
            #expect(failed?["iterations"] == 1)
            #expect(failed?["turn_id"] == turn.first("session.activated")?["data"]?["turn_id"])
            try await Self.expectLifecycle(server, sessionID, log, iterations: [1])
        }
    }

    @Test("cancel mid-stream: turn.cancelled, nothing of the stream afterwards", arguments: ServerConfiguration.allCases)
    func cancelMidStream(_ configuration: ServerConfiguration) async throws {
        try await LifecycleHarness.run(configuration, script: [LifecycleHarness.stallingReply]) { fixtures in
            let server = fixtures.server
            let sessionID = try await server.createSession(["model_id": "openai/gpt-4o-mini"])
            #expect(try await server.send(sessionID, "a long answer, please").status == 201)
            try await server.waitForEvent(sessionID, "output.message.delta")
            let cancel = try await server.request(.post, "/v1/sessions/\(sessionID)/cancel", json: [:])
            #expect(cancel.status == 200)
            #expect(cancel.json["status"] == "cancelled")
            #expect(try await server.events(sessionID).types.contains("turn.cancelled"), "recorded when the cancel returns")
            let log = try await server.waitForIdle(sessionID)

            let expected =
                ["session.started", "input.message"] + Self.activation
                + ["reason.started", "output.message.started", "output.message.delta"] + Self.cancellation
            #expect(log.types == expected)
            let turn = try #require(TurnEvents.split(log).first)
            #expect(turn.first("turn.cancelled")?["data"]?["reason"] == "user_requested")
            try await Self.expectLifecycle(server, sessionID, log, iterations: [0])
            #expect(fixtures.provider.count == 1, "the cancelled call is not retried")
        }
    }

    @Test("cancel mid-tool: turn.cancelled while the tool runs, no tool result", arguments: ServerConfiguration.allCases)
    func cancelMidTool(_ configuration: ServerConfiguration) async throws {
        try await LifecycleHarness.run(configuration) { fixtures in
            let server = fixtures.server
            let sessionID = try await server.createSession(["capabilities": [["ref": "web_fetch"]]])
            let fetch = #"{"url":"\#(fixtures.page.url)"}"#
            #expect(try await server.send(sessionID, "[[tool:web_fetch \(fetch)]]").status == 201)
            try await server.waitForEvent(sessionID, "tool.started")
            try await fixtures.page.waitForHits(1)
            let cancel = try await server.request(.post, "/v1/sessions/\(sessionID)/cancel", json: [:])
            #expect(cancel.status == 200)
            #expect(cancel.json["status"] == "cancelled")
            #expect(try await server.events(sessionID).types.contains("turn.cancelled"), "recorded when the cancel returns")
            let log = try await server.waitForIdle(sessionID)

            let expected =
                ["session.started", "input.message"] + Self.activation + Self.reason(deltas: 0)
                + ["act.started", "tool.started"] + Self.cancellation
            #expect(log.types == expected)
            try await Self.expectLifecycle(server, sessionID, log, iterations: [1])
        }
    }

    @Test("iteration cap: the last step's tool calls are not run, turn.completed says max_iterations",
          arguments: ServerConfiguration.allCases)
    func iterationCap(_ configuration: ServerConfiguration) async throws {
        try await LifecycleHarness.run(configuration) { fixtures in
            let server = fixtures.server
            let agent = try await server.request(
                .post, "/v1/agents",
                json: ["name": "capped", "system_prompt": "Add.", "capabilities": [["ref": "test_math"]], "max_iterations": 1])
            #expect(agent.status == 201, "\(agent.text)")
            let sessionID = try await server.createSession(["agent_id": agent.json["id"] ?? .null])
            #expect(try await server.send(sessionID, #"[[tool:add {"a":2,"b":3}]]"#).status == 201)
            let log = try await server.waitForIdle(sessionID)

            let expected =
                ["session.started", "input.message"] + Self.activation + Self.reason(deltas: 0)
                + ["act.started", "tool.completed", "act.completed", "turn.completed", "session.idled"]
            #expect(log.types == expected)
            let turn = try #require(TurnEvents.split(log).first)
            #expect(turn.first("tool.completed")?["data"]?["status"] == "cancelled")
            let completed = turn.first("turn.completed")?["data"]
            #expect(completed?["status"] == "max_iterations")
            #expect(completed?["max_iterations"] == 1)
            #expect(completed?["iterations"] == 1)
            try await Self.expectLifecycle(server, sessionID, log, iterations: [1])
        }
    }

    @Test("queued second message: posted while the first turn runs, its turn runs after it, in order",
          arguments: ServerConfiguration.allCases)
    func queuedSecondMessage(_ configuration: ServerConfiguration) async throws {
        try await LifecycleHarness.run(configuration) { fixtures in
            let server = fixtures.server
            let sessionID = try await server.createSession(["capabilities": [["ref": "web_fetch"]]])
            let fetch = #"{"url":"\#(fixtures.page.url)"}"#
            #expect(try await server.send(sessionID, "[[tool:web_fetch \(fetch)]]").status == 201)
            try await server.waitForEvent(sessionID, "tool.started")
            try await fixtures.page.waitForHits(1)
            #expect(try await server.send(sessionID, "second").status == 201)
            fixtures.page.release()
            let log = try await server.waitForIdle(sessionID, turns: 2)

            let expected =
                ["session.started", "input.message"] + Self.activation + Self.reason(deltas: 0)
                + ["act.started", "tool.started", "input.message", "tool.completed", "act.completed"]
                + Self.reason(deltas: 6) + ["turn.completed", "session.idled"]
                + Self.activation + Self.reason(deltas: 2) + ["turn.completed", "session.idled"]
            #expect(log.types == expected)
            // The second turn answers the second message.
            let inputs = log.filter { $0["type"] == "input.message" }.compactMap { $0["data"]?["message"]?["id"] }
            let turns = TurnEvents.split(log)
            #expect(turns.map { $0.first("session.activated")?["data"]?["input_message_id"] } == inputs.map { Optional($0) })
            let answer = turns.last?.first("output.message.completed")?["data"]?["message"]?["content"]?.arrayValue?.first?["text"]
            #expect(answer == "Echo: second")
            try await Self.expectLifecycle(server, sessionID, log, iterations: [2, 1])
        }
    }

    // MARK: - What every scenario checks

    /// Per turn: one turn id on `session.activated`, `turn.started`, the terminal event and
    /// `session.idled`, whose `iterations` are `iterations[n]`; the session idle, its usage the
    /// sum of the log's model calls and the last `session.idled`'s; the log gapless.
    static func expectLifecycle(
        _ server: TestServer, _ sessionID: String, _ log: [JSONValue], iterations: [Int],
        sourceLocation: SourceLocation = #_sourceLocation
    ) async throws {
        DurableExecutionTests.expectGapless(log, sourceLocation: sourceLocation)
        let turns = TurnEvents.split(log)
        #expect(turns.count == iterations.count, sourceLocation: sourceLocation)
        for (turn, expectedIterations) in zip(turns, iterations) {
            let turnID = turn.first("session.activated")?["data"]?["turn_id"]
            #expect(turnID?.stringValue?.hasPrefix("turn_") == true, sourceLocation: sourceLocation)
            let terminal = turn.events.first { ["turn.completed", "turn.failed", "turn.cancelled"].contains($0["type"]?.stringValue) }
            let idled = turn.first("session.idled")?["data"]
            #expect(turn.first("turn.started")?["data"]?["turn_id"] == turnID, "turn.started", sourceLocation: sourceLocation)
            #expect(terminal?["data"]?["turn_id"] == turnID, "terminal event", sourceLocation: sourceLocation)
            #expect(idled?["turn_id"] == turnID, "session.idled", sourceLocation: sourceLocation)
            #expect(idled?["iterations"]?.intValue == expectedIterations, "session.idled iterations", sourceLocation: sourceLocation)
        }
        let modelUsage = try log.filter { $0["type"] == "llm.generation" }
            .compactMap { $0["data"]?["metadata"]?["usage"] }
            .map { try $0.decode(Usage.self) }
            .reduce(Usage(), +)
        let calls = log.filter { $0["type"] == "llm.generation" && $0["data"]?["metadata"]?["success"] == true }
        #expect(calls.isEmpty || modelUsage.outputTokens > 0, "the model calls reported usage", sourceLocation: sourceLocation)
        let session = try await server.request(.get, "/v1/sessions/\(sessionID)").json
        #expect(session["status"] == "idle", sourceLocation: sourceLocation)
        let sessionUsage = try session["usage"]?.decode(Usage.self)
        #expect(sessionUsage == modelUsage, "session usage is the sum of its model calls", sourceLocation: sourceLocation)
        let lastIdled = log.last { $0["type"] == "session.idled" }?["data"]?["usage"]
        #expect(try lastIdled?.decode(Usage.self) == modelUsage, "session.idled carries the session's usage",
                sourceLocation: sourceLocation)
    }
}
