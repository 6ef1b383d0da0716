import Foundation
import HTTPTypes
import KeelCore
import KeelTestSupport
import Testing

/// The Agent Protocol API over HTTP (the LangGraph SDK flow in `scripts/langgraph-compat-test`
/// covers the rest): run metadata rules, the system-key collision, the stream's wire format and
/// replay, and persistence across a restart on PostgreSQL.
@Suite("Agent Protocol API")
struct AgentProtocolTests {
    static func runBody(_ text: String, metadata: JSONValue? = nil) -> JSONValue {
        var body: [String: JSONValue] = [
            "assistant_id": "assistant", "input": ["messages": [["role": "human", "content": .string(text)]]],
        ]
        if let metadata { body["metadata"] = metadata }
        return .object(body)
    }

    @Test("each run-metadata rule answers 422 naming the offending key, and no run is created")
    func metadataRules() async throws {
        try await TestServer.run { server in
            let thread = try await server.request(.post, "/threads", json: [:])
            let threadID = try #require(thread.json["thread_id"]?.stringValue, "\(thread.text)")
            var tooMany: [String: JSONValue] = [:]
            for index in 0..<33 { tooMany["k\(index)"] = .init(index) }
            let cases: [(JSONValue, String)] = [
                (.object(tooMany), "at most 32"), (["a.b": "x"], "a.b"), (["has space": 1], "has space"),
                ([String(repeating: "k", count: 65): 1], String(repeating: "k", count: 65)),
                (["nested": ["a": 1]], "nested"), (["list": [1]], "list"), (["nothing": nil], "nothing"),
                (["long": .string(String(repeating: "x", count: 513))], "long"),
            ]
            for route in ["/threads/\(threadID)/runs", "/threads/\(threadID)/runs/wait", "/threads/\(threadID)/runs/stream", "/runs/wait"] {
                for (metadata, mention) in cases {
                    let reply = try await server.request(.post, route, json: Self.runBody("hi", metadata: metadata))
                    #expect(reply.status == 422, "\(route) \(metadata.jsonString.prefix(60)) → \(reply.status) \(reply.text)")
                    #expect(reply.json["detail"]?.stringValue?.contains(mention) == true, "\(reply.text)")
                }
            }
            let runs = try await server.request(.get, "/threads/\(threadID)/runs")
            #expect(runs.json.arrayValue?.isEmpty == true, "\(runs.text)")
            #expect(try await server.events(threadID).map { $0["type"]?.stringValue } == ["session.started"])
        }
    }

    @Test("system metadata keys win on the trace with a warning; the run keeps what the caller sent")
    func systemKeysWin() async throws {
        let capture = LogCapture()
        try await TestServer.run(logger: capture.logger()) { server in
            let thread = try await server.request(.post, "/threads", json: [:])
            let threadID = try #require(thread.json["thread_id"]?.stringValue)
            var headers = HTTPFields()
            headers[HTTPField.Name("X-Request-ID")!] = "req-abc-123"
            let sent: JSONValue = ["tenant": "acme", "run_id": "mine", "graph_id": "spoofed", "flag": true]
            let output = try await server.request(
                .post, "/threads/\(threadID)/runs/wait", json: Self.runBody("hello", metadata: sent), headers: headers)
            #expect(output.status == 200, "\(output.text)")
            let runs = try await server.request(.get, "/threads/\(threadID)/runs")
            let run = try #require(runs.json.arrayValue?.first)
            let runID = try #require(run["run_id"]?.stringValue)
            #expect(run["metadata"] == sent, "stored as sent: \(run)")
            #expect(run["status"] == "success")

            // What the trace builder reads: the input message's metadata.
            let input = try #require(try await server.events(threadID).first { $0["type"] == "input.message" })
            let traced = input["data"]?["message"]?["metadata"]
            #expect(traced?["run_id"]?.stringValue == runID)
            #expect(traced?["thread_id"]?.stringValue == threadID)
            #expect(traced?["graph_id"] == "assistant")
            #expect(traced?["original_request_id"] == "req-abc-123")
            #expect(traced?["tenant"] == "acme" && traced?["flag"] == true)
        }
        let warnings = capture.lines.filter { $0.contains("overridden by system value") }
        #expect(warnings.contains { $0.contains("'run_id'") } && warnings.contains { $0.contains("'graph_id'") }, "\(warnings)")
    }

    @Test("a run's stream: metadata first, end last, ids <run_id>_event_<n>, exact replay after Last-Event-ID")
    func streamWireFormat() async throws {
        try await TestServer.run { server in
            let thread = try await server.request(.post, "/threads", json: ["thread_id": "my-thread-1"])
            #expect(thread.json["thread_id"] == "my-thread-1", "\(thread.text)")
            var body = Self.runBody("one two three")
            body = .object((body.objectValue ?? [:]).merging(["stream_mode": ["values", "messages-tuple", "updates"]]) { $1 })
            let reply = try await server.request(.post, "/threads/my-thread-1/runs/stream", json: body)
            #expect(reply.status == 200)
            #expect(reply.headers[.contentType] == "text/event-stream")
            let frames = reply.text.components(separatedBy: "\n\n").filter { !$0.isEmpty }.map(SSEReader.parse)
            let events = frames.compactMap(\.event)
            #expect(events.first == "metadata" && events.last == "end", "\(events)")
            #expect(Set(events).isSuperset(of: ["values", "messages", "updates"]), "\(events)")
            let runID = try #require(frames.first?.json?["run_id"]?.stringValue)
            #expect(reply.headers[.location] == "/threads/my-thread-1/runs/\(runID)/stream")
            for (index, frame) in frames.enumerated() {
                #expect(frame.id == "\(runID)_event_\(index + 1)")
            }
            #expect(frames.last?.json == ["status": "success"])

            var resume = HTTPFields()
            resume[HTTPField.Name("Last-Event-ID")!] = "\(runID)_event_3"
            let replay = try await server.request(.get, "/threads/my-thread-1/runs/\(runID)/stream", headers: resume)
            let replayed = replay.text.components(separatedBy: "\n\n").filter { !$0.isEmpty }.map(SSEReader.parse)
            #expect(replayed.map(\.id) == frames.dropFirst(3).map(\.id))
            #expect(replayed.map(\.data) == frames.dropFirst(3).map(\.data))
        }
    }

    @Test("bad requests: unknown assistant 404, missing input 422, unknown stream mode 422, no thread 404")
    func badRequests() async throws {
        try await TestServer.run { server in
            let thread = try await server.request(.post, "/threads", json: [:])
            let threadID = try #require(thread.json["thread_id"]?.stringValue)
            let cases: [(String, JSONValue, Int)] = [
                ("/threads/\(threadID)/runs", ["assistant_id": "nope", "input": ["messages": [["role": "human", "content": "x"]]]], 404),
                ("/threads/\(threadID)/runs", ["assistant_id": "assistant"], 422),
                ("/threads/\(threadID)/runs", ["assistant_id": "assistant", "input": ["messages": [["role": "ai", "content": "x"]]]], 422),
                ("/threads/\(threadID)/runs", ["assistant_id": "assistant", "input": ["messages": []], "stream_mode": "nope"], 422),
                ("/threads/\(threadID)/runs", ["assistant_id": "assistant", "input": ["messages": [["role": "human", "content": "x"]]],
                                               "command": ["resume": true]], 422),
                ("/threads/\(threadID)/runs", ["assistant_id": "assistant", "input": ["messages": [["role": "human", "content": "x"]]],
                                               "interrupt_before": ["agent"]], 422),
                ("/threads/\(threadID)/runs", ["assistant_id": "assistant", "input": ["messages": [["role": "human", "content": "x"]]],
                                               "webhook": "ftp://example.com/x"], 422),
                ("/threads/no-such-thread/runs", ["assistant_id": "assistant", "input": ["messages": [["role": "human", "content": "x"]]]], 404),
                ("/threads", ["thread_id": "has space"], 422),
                ("/threads", ["thread_id": 5], 422),
                ("/assistants", ["graph_id": "no-such-graph"], 404),
            ]
            for (path, body, status) in cases {
                let reply = try await server.request(.post, path, json: body)
                #expect(reply.status == status, "\(path) \(body.jsonString.prefix(120)) → \(reply.status) \(reply.text)")
                #expect(reply.json["error"]?["code"] != nil, "one error envelope: \(reply.text)")
            }
            let created = try await server.request(
                .post, "/threads/new-thread-7/runs/wait",
                json: ["assistant_id": "assistant", "if_not_exists": "create", "input": ["messages": [["role": "human", "content": "x"]]]])
            #expect(created.status == 200, "if_not_exists=create: \(created.text)")
            #expect(try await server.request(.get, "/threads/new-thread-7").json["status"] == "idle")
        }
    }

    @Test("a refused run creates and changes nothing; an accepted one runs with its assistant's agent")
    func refusedRunsLeaveNothing() async throws {
        try await TestServer.run { server in
            let sessionsBefore = try await server.request(.get, "/v1/sessions").json["total"]
            let badInput: JSONValue = ["messages": [["role": "ai", "content": "x"]]]
            for route in ["/runs", "/runs/wait", "/runs/stream"] {
                let reply = try await server.request(.post, route, json: ["assistant_id": "assistant", "input": badInput])
                #expect(reply.status == 422, "\(route): \(reply.text)")
            }
            let resume = try await server.request(.post, "/runs/wait", json: ["assistant_id": "assistant", "command": ["resume": true]])
            #expect(resume.status == 422, "a stateless resume: \(resume.text)")
            let missing = try await server.request(
                .post, "/threads/never-made/runs/wait",
                json: ["assistant_id": "assistant", "if_not_exists": "create", "command": ["resume": true]])
            #expect(missing.status == 404, "a resume does not create the thread: \(missing.text)")
            #expect(try await server.request(.get, "/v1/sessions").json["total"] == sessionsBefore, "no session left behind")

            let other = try await server.request(.post, "/assistants", json: ["graph_id": "assistant", "name": "other"])
            let otherID = try #require(other.json["assistant_id"]?.stringValue)
            let seeded = try #require(try await server.request(.get, "/v1/agents/assistant").json["id"])
            let thread = try await server.request(.post, "/threads", json: [:])
            let threadID = try #require(thread.json["thread_id"]?.stringValue)
            let refused = try await server.request(
                .post, "/threads/\(threadID)/runs", json: ["assistant_id": .string(otherID), "input": badInput])
            #expect(refused.status == 422)
            #expect((try await server.request(.get, "/v1/sessions/\(threadID)").json["agent_id"] ?? .null) == .null, "agent unchanged")

            let accepted = try await server.request(
                .post, "/threads/\(threadID)/runs/wait",
                json: ["assistant_id": .string(otherID), "input": ["messages": [["role": "human", "content": "hi"]]]])
            #expect(accepted.status == 200, "\(accepted.text)")
            let session = try await server.request(.get, "/v1/sessions/\(threadID)").json
            #expect((session["agent_id"] ?? .null) != .null && session["agent_id"] != seeded, "the new assistant's own agent: \(session)")
            let started = try await server.events(threadID).first { $0["type"] == "turn.started" }
            #expect(started?["data"]?["agent_id"] == session["agent_id"], "the turn ran with the session's new agent")

            // A /v1 message naming an agent that is not the organization's changes nothing.
            let before = session["agent_id"]
            let foreign = try await server.request(
                .post, "/v1/sessions/\(threadID)/messages",
                json: ["message": ["role": "user", "content": [["type": "text", "text": "x"]]],
                       "controls": ["agent_id": "agent_0000000000000000000000000000dead"]])
            #expect(foreign.status == 201)
            _ = try await server.waitForIdle(threadID, turns: 2)
            #expect(try await server.request(.get, "/v1/sessions/\(threadID)").json["agent_id"] == before)
        }
    }

    @Test("stored objects are bounded: config, context and metadata at 64 KiB, also after repeated patches")
    func storedObjectLimits() async throws {
        try await TestServer.run { server in
            let big = JSONValue.string(String(repeating: "x", count: 40 * 1024))
            let huge = JSONValue.string(String(repeating: "x", count: 70 * 1024))
            let assistant = try await server.request(.post, "/assistants", json: ["graph_id": "assistant", "config": ["blob": huge]])
            #expect(assistant.status == 422 && assistant.json["detail"]?.stringValue?.contains("config") == true, "\(assistant.text)")
            let thread = try await server.request(.post, "/threads", json: ["metadata": ["a": big]])
            let threadID = try #require(thread.json["thread_id"]?.stringValue, "\(thread.text)")
            let grown = try await server.request(.patch, "/threads/\(threadID)", json: ["metadata": ["b": big]])
            #expect(grown.status == 422, "metadata may not grow past 64 KiB by patches: \(grown.text)")
            #expect(try await server.request(.get, "/threads/\(threadID)").json["metadata"]?["b"] == nil)
            let run = try await server.request(
                .post, "/threads/\(threadID)/runs",
                json: ["assistant_id": "assistant", "input": ["messages": [["role": "human", "content": "x"]]], "context": ["c": huge]])
            #expect(run.status == 422, "\(run.text)")
        }
    }

    @Test("assistants, threads, runs and their metadata survive a restart (PostgreSQL)")
    func persistence() async throws {
        try await PostgresPersistenceTests.withDatabase { url in
            let environment = PostgresPersistenceTests.environment(url)
            let (assistantID, runID, firstStream) = try await TestServer.run(environment: environment) { server in
                let assistant = try await server.request(
                    .post, "/assistants", json: ["graph_id": "assistant", "metadata": ["team": "blue"], "name": "kept"])
                let assistantID = try #require(assistant.json["assistant_id"]?.stringValue, "\(assistant.text)")
                let thread = try await server.request(.post, "/threads", json: ["thread_id": "durable-thread", "metadata": ["user": "u1"]])
                #expect(thread.status == 200, "\(thread.text)")
                var body = Self.runBody("remember me", metadata: ["tenant": "acme"])
                body = .object((body.objectValue ?? [:]).merging(["assistant_id": .string(assistantID)]) { $1 })
                let output = try await server.request(.post, "/threads/durable-thread/runs/wait", json: body)
                #expect(output.status == 200, "\(output.text)")
                let runs = try await server.request(.get, "/threads/durable-thread/runs")
                let runID = try #require(runs.json.arrayValue?.first?["run_id"]?.stringValue)
                let stream = try await server.request(.get, "/threads/durable-thread/runs/\(runID)/stream")
                return (assistantID, runID, stream.text)
            }
            try await TestServer.run(environment: environment) { server in
                let assistant = try await server.request(.get, "/assistants/\(assistantID)")
                #expect(assistant.json["metadata"] == ["team": "blue"] && assistant.json["name"] == "kept", "\(assistant.text)")
                let thread = try await server.request(.get, "/threads/durable-thread")
                #expect(thread.json["metadata"]?["user"] == "u1", "\(thread.text)")
                let run = try await server.request(.get, "/threads/durable-thread/runs/\(runID)")
                #expect(run.json["status"] == "success" && run.json["metadata"] == ["tenant": "acme"], "\(run.text)")
                #expect(run.json["output"]?["messages"]?.arrayValue?.count == 2, "\(run.text)")
                let stream = try await server.request(.get, "/threads/durable-thread/runs/\(runID)/stream")
                #expect(stream.text == firstStream, "the replay of a finished run is the same after a restart")
            }
        }
    }
}

@Suite("Agent Protocol streams and disconnects")
struct AgentProtocolDisconnectTests {
    static func streamRequest(threadID: String, onDisconnect: String) -> String {
        let body: JSONValue = [
            "assistant_id": "assistant", "on_disconnect": .string(onDisconnect),
            "input": ["messages": [["role": "human", "content": "a few slow words to stream"]]],
            "stream_mode": ["messages-tuple"],
        ]
        let text = body.jsonString
        return "POST /threads/\(threadID)/runs/stream HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
            + "Content-Length: \(text.utf8.count)\r\n\r\n" + text
    }

    @Test("a /runs/stream client that leaves cancels its run (on_disconnect cancel); with continue the run finishes")
    func onDisconnect() async throws {
        try await TestServer.run(
            environment: ["SSE_HEARTBEAT_INTERVAL_SECS": "0.2"],
            overrides: .init(simLatency: .milliseconds(400), deltaBatchInterval: .zero)
        ) { server in
            for (mode, expected) in [("cancel", "interrupted"), ("continue", "success")] {
                let thread = try await server.request(.post, "/threads", json: [:])
                let threadID = try #require(thread.json["thread_id"]?.stringValue)
                let connection = try await RawConnection.open(port: server.port)
                try await connection.send(Self.streamRequest(threadID: threadID, onDisconnect: mode))
                // Wait until the run is running, then leave.
                var runID: String?
                let started = ContinuousClock.now + .seconds(10)
                while runID == nil, ContinuousClock.now < started {
                    let runs = try await server.request(.get, "/threads/\(threadID)/runs")
                    if let run = runs.json.arrayValue?.first, run["status"] == "running" { runID = run["run_id"]?.stringValue }
                    try await Task.sleep(for: .milliseconds(20))
                }
                let id = try #require(runID, "the run started")
                await connection.close()
                var status: String?
                let deadline = ContinuousClock.now + .seconds(15)
                while ContinuousClock.now < deadline {
                    status = try await server.request(.get, "/threads/\(threadID)/runs/\(id)").json["status"]?.stringValue
                    if status == "interrupted" || status == "success" { break }
                    try await Task.sleep(for: .milliseconds(50))
                }
                #expect(status == expected, "on_disconnect \(mode)")
            }
        }
    }

    @Test("streams, waits and joins count against the SSE limits: one more than SSE_PER_SESSION_MAX per thread is 429")
    func connectionLimits() async throws {
        try await TestServer.run(
            environment: ["SSE_PER_SESSION_MAX": "1"],
            overrides: .init(simLatency: .milliseconds(400), deltaBatchInterval: .zero)
        ) { server in
            let thread = try await server.request(.post, "/threads", json: [:])
            let threadID = try #require(thread.json["thread_id"]?.stringValue)
            let run = try await server.request(
                .post, "/threads/\(threadID)/runs",
                json: ["assistant_id": "assistant", "input": ["messages": [["role": "human", "content": "several slow words here"]]]])
            let runID = try #require(run.json["run_id"]?.stringValue)
            let holder = try await RawConnection.open(port: server.port)
            try await holder.send("GET /threads/\(threadID)/runs/\(runID)/join HTTP/1.1\r\nHost: localhost\r\n\r\n")
            try await Task.sleep(for: .milliseconds(300))
            let second = try await server.request(.get, "/threads/\(threadID)/runs/\(runID)/stream")
            #expect(second.status == 429, "\(second.text)")
            #expect(second.json["error"]?["code"] == "too_many_streams")
            let elsewhere = try await server.request(.post, "/threads", json: [:])
            #expect(elsewhere.status == 200, "another thread is not limited by this one's streams")
            await holder.close()
            _ = try await server.request(.get, "/threads/\(threadID)/runs/\(runID)/join")
        }
    }
}
