import Foundation
import KeelCore
import KeelTestSupport
import Hummingbird
import NIOCore
import Synchronization
import Testing

/// Durable mode end to end: a real PostgreSQL, the server in-process, and real `keel worker`
/// processes that the tests kill with SIGKILL in the middle of a turn.
@Suite("durable execution with workers", .serialized)
struct DurableExecutionTests {
    /// The server's environment for worker tests: no embedded executors, short stale threshold.
    static func environment(_ url: String, grpcPort: Int, embedded: Int = 0) -> [String: String] {
        PostgresPersistenceTests.environment(url).merging([
            "WORKER_GRPC_ADDR": "127.0.0.1:\(grpcPort)", "DURABLE_EMBEDDED_EXECUTORS": String(embedded),
            "DURABLE_STALE_TASK_THRESHOLD_SECS": "1.5", "DURABLE_RECLAIM_INTERVAL_SECS": "0.25",
            "WORKER_HEARTBEAT_INTERVAL_SECS": "0.3",
        ]) { $1 }
    }

    /// The provider key the servers below hold; workers only ever get it from the server.
    static let providerKey = "sk-durable-worker-key"
    /// An OpenAI answer streamed over about 3 s: long enough to interrupt.
    static let slowReply = FakeReply(chunks: OpenAIWire.finalText.map { ByteBuffer(string: $0) }, gap: .milliseconds(400))

    /// A fresh database, the fake OpenAI provider playing `script`, and a durable server in-process
    /// wired to both (`environment` plus `extra`), with the port its worker gRPC listener binds.
    static func withDurableServer(
        script: [FakeReply], embedded: Int = 0, extra: [String: String] = [:],
        _ body: @escaping @Sendable (_ server: TestServer, _ grpcPort: Int, _ provider: FakeProviderLog, _ databaseURL: String)
            async throws -> Void
    ) async throws {
        try await PostgresPersistenceTests.withDatabase { url in
            try await FakeProviderServer.run(script: script) { provider, baseURL in
                let port = try freeLoopbackPort()
                let environment = Self.environment(url, grpcPort: port, embedded: embedded).merging(
                    ["OPENAI_BASE_URL": baseURL + "/v1", "DEFAULT_OPENAI_API_KEY": providerKey]
                ) { $1 }.merging(extra) { $1 }
                try await TestServer.run(environment: environment) { server in try await body(server, port, provider, url) }
            }
        }
    }

    /// Every event's sequence, 1…n without gaps or repeats.
    static func expectGapless(_ events: [JSONValue], sourceLocation: SourceLocation = #_sourceLocation) {
        let sequences = events.compactMap { $0["sequence"]?.intValue }
        #expect(!sequences.isEmpty && sequences == Array(1...sequences.count), "\(sequences)", sourceLocation: sourceLocation)
    }

    static func count(_ events: [JSONValue], _ type: String) -> Int {
        events.filter { $0["type"]?.stringValue == type }.count
    }

    /// Message ids of `output.message.completed` events: each must appear once.
    static func expectNoDuplicateMessages(_ events: [JSONValue], sourceLocation: SourceLocation = #_sourceLocation) {
        let ids = events.filter { $0["type"]?.stringValue == "output.message.completed" }
            .compactMap { $0["data"]?["message"]?["id"]?.stringValue }
        #expect(Set(ids).count == ids.count, "duplicate messages: \(ids)", sourceLocation: sourceLocation)
    }

    @Test("a worker killed during the LLM stream: another worker finishes the turn, nothing duplicated")
    func workerKilledMidStream() async throws {
        try await Self.withDurableServer(script: [Self.slowReply, Self.slowReply]) { server, port, fake, _ in
            let first = try WorkerProcess.start(port: port)
            let sessionID = try await server.createSession(["model_id": "openai/gpt-4o-mini"])
            #expect(try await server.send(sessionID, "what is 2 + 3?").status == 201)
            try await server.waitForEvent(sessionID, "output.message.delta", timeout: .seconds(20))
            first.kill9()

            let second = try WorkerProcess.start(port: port)
            let events = try await server.waitForIdle(sessionID, timeout: .seconds(30))
            await second.terminate()

            #expect(Self.count(events, "turn.completed") == 1)
            #expect(Self.count(events, "turn.started") == 1)
            #expect(Self.count(events, "output.message.completed") == 1)
            Self.expectGapless(events)
            Self.expectNoDuplicateMessages(events)
            let answer = events.last { $0["type"] == "output.message.completed" }?["data"]?["message"]
            #expect(ProviderEndToEndTests.text(ofMessage: answer) == ProviderEndToEndTests.finalText)
            // The interrupted step was redone (two model calls), carrying the key the server decrypted.
            #expect(fake.count == 2)
            #expect(fake.requests.allSatisfy { $0.headers["authorization"] == "Bearer \(Self.providerKey)" })
            let session = try await server.request(.get, "/v1/sessions/\(sessionID)").json
            #expect(session["status"] == "idle")
            #expect(!first.log.contains(Self.providerKey) && !second.log.contains(Self.providerKey))
        }
    }

    @Test("a worker killed during a tool call: recorded tool results are not re-run")
    func workerKilledMidTool() async throws {
        try await PostgresPersistenceTests.withDatabase { url in
            try await SlowPage.run { page in
                let port = try freeLoopbackPort()
                try await TestServer.run(environment: Self.environment(url, grpcPort: port)) { server in
                    let first = try WorkerProcess.start(port: port)
                    let sessionID = try await server.createSession([
                        "model_id": "llmsim/sim", "capabilities": [["ref": "test_math"], ["ref": "web_fetch"]],
                    ])
                    let fetch = #"{"url":"\#(page.url)"}"#
                    #expect(try await server.send(sessionID, #"[[tool:add {"a":2,"b":3}]] [[tool:web_fetch \#(fetch)]]"#).status == 201)
                    // The add result is recorded; the fetch is hanging in the first worker.
                    try await server.waitForEvent(sessionID, "tool.completed", timeout: .seconds(20))
                    try await page.waitForHits(1)
                    first.kill9()
                    page.release()

                    let second = try WorkerProcess.start(port: port)
                    let events = try await server.waitForIdle(sessionID, timeout: .seconds(30))
                    await second.terminate()

                    #expect(Self.count(events, "turn.completed") == 1)
                    Self.expectGapless(events)
                    Self.expectNoDuplicateMessages(events)
                    let started = events.filter { $0["type"] == "tool.started" }.compactMap { $0["data"]?["tool_call"]?["name"]?.stringValue }
                    let completed = events.filter { $0["type"] == "tool.completed" }.compactMap { $0["data"]?["tool_name"]?.stringValue }
                    #expect(started.filter { $0 == "add" }.count == 1, "the recorded add was not run again")
                    #expect(completed.sorted() == ["add", "web_fetch"], "one recorded result per call")
                    // The fetch ran once per recorded start: once on the killed worker, once on the second.
                    #expect(started.filter { $0 == "web_fetch" }.count == page.hits)
                    #expect(page.hits == 2)
                    let fetched = events.first { $0["type"] == "tool.completed" && $0["data"]?["tool_name"] == "web_fetch" }
                    #expect(fetched?["data"]?["success"] == true)
                }
            }
        }
    }

    @Test("worker auth: a missing or wrong token is refused; the server needs a token outside DEV_MODE")
    func workerAuthentication() async throws {
        try await PostgresPersistenceTests.withDatabase { url in
            let port = try freeLoopbackPort()
            try await TestServer.run(environment: Self.environment(url, grpcPort: port)) { _ in
                let wrong = try WorkerProcess.start(port: port, token: "not-the-token")
                #expect(await wrong.waitForExit(within: .seconds(15)) == 3)
                #expect(wrong.log.contains("unauthenticated"))
                #expect(!wrong.log.contains("not-the-token"))
                let missing = try WorkerProcess.start(port: port, token: nil)
                #expect(await missing.waitForExit(within: .seconds(15)) == 2, "a worker without a token refuses to start")
                #expect(missing.log.contains("WORKER_GRPC_AUTH_TOKEN"))
                let devWorker = try WorkerProcess.start(port: port, token: nil, extra: ["DEV_MODE": "1"])
                #expect(await devWorker.waitForExit(within: .seconds(15)) == 3, "the server still refuses a token-less worker")
            }
            var environment = PostgresPersistenceTests.environment(url)
            environment["WORKER_GRPC_AUTH_TOKEN"] = nil
            let run = try await CLIStartupTests.run(environment)
            #expect(run.status == 2)
            #expect(run.stderr.contains("WORKER_GRPC_AUTH_TOKEN"))
        }
    }

    @Test("more concurrent turns than pooled connections: no deadlock")
    func poolSmallerThanConcurrency() async throws {
        try await PostgresPersistenceTests.withDatabase { url in
            let environment = Self.environment(url, grpcPort: 0, embedded: 4).merging(["DATABASE_MAX_CONNECTIONS": "2"]) { $1 }
            try await TestServer.run(environment: environment) { server in
                let sessions = try await withThrowingTaskGroup(of: String.self) { group in
                    for _ in 0..<16 { group.addTask { try await server.createSession() } }
                    return try await group.reduce(into: []) { $0.append($1) }
                }
                try await withThrowingTaskGroup(of: Void.self) { group in
                    for sessionID in sessions {
                        group.addTask { _ = try await server.send(sessionID, "at the same time") }
                    }
                    try await group.waitForAll()
                }
                for sessionID in sessions {
                    let events = try await server.waitForIdle(sessionID, timeout: .seconds(30))
                    #expect(Self.count(events, "turn.completed") == 1)
                }
            }
        }
    }

    @Test("N workers and M concurrent sessions: every turn completes exactly once")
    func manyWorkersManySessions() async throws {
        try await PostgresPersistenceTests.withDatabase { url in
            let port = try freeLoopbackPort()
            try await TestServer.run(environment: Self.environment(url, grpcPort: port, embedded: 2)) { server in
                let workers = try (0..<3).map { _ in try WorkerProcess.start(port: port, extra: ["MAX_CONCURRENT_TASKS": "4"]) }
                let sessions = 8
                let turns = 3
                let ids = try await withThrowingTaskGroup(of: String.self) { group in
                    for index in 0..<sessions {
                        group.addTask {
                            let sessionID = try await server.createSession(["capabilities": [["ref": "test_math"]]])
                            for turn in 0..<turns {
                                let reply = try await server.send(
                                    sessionID, #"s\#(index) t\#(turn) [[tool:add {"a":\#(index),"b":\#(turn)}]]"#)
                                // A refused message would show up only as a missing turn below.
                                #expect(reply.status == 201, "message \(turn) of session \(index): \(reply.text.prefix(300))")
                            }
                            return sessionID
                        }
                    }
                    return try await group.reduce(into: []) { $0.append($1) }
                }
                for sessionID in ids {
                    let events = try await server.waitForIdle(sessionID, turns: turns, timeout: .seconds(60))
                    #expect(Self.count(events, "turn.completed") == turns, "every turn completes exactly once")
                    #expect(Self.count(events, "turn.started") == turns)
                    #expect(Self.count(events, "tool.completed") == turns, "each tool call recorded once")
                    // Each turn called its own tool once: a turn never sees a later turn's message.
                    let toolTurns = events.filter { $0["type"] == "tool.completed" }.compactMap { $0["context"]?["turn_id"]?.stringValue }
                    #expect(Set(toolTurns).count == turns)
                    #expect(Self.count(events, "session.idled") == turns)
                    Self.expectGapless(events)
                    Self.expectNoDuplicateMessages(events)
                    // Turns never interleave: each turn.started follows the previous session.idled.
                    let markers = events.compactMap { $0["type"]?.stringValue }.filter { $0 == "turn.started" || $0 == "session.idled" }
                    #expect(markers == Array(repeating: ["turn.started", "session.idled"], count: turns).flatMap { $0 })
                }
                for worker in workers {
                    #expect(await worker.terminate() == 0, "SIGTERM stops a worker cleanly")
                }
            }
        }
    }
}

/// A page whose first request hangs until released, counting every request: the tool a test
/// kills a worker in the middle of.
final class SlowPage: Sendable {
    let url: String
    private let counter: Mutex<Int>
    private let gate: AsyncStream<Void>
    private let opener: AsyncStream<Void>.Continuation

    private init(url: String) {
        self.url = url
        counter = Mutex(0)
        (gate, opener) = AsyncStream.makeStream()
    }

    var hits: Int { counter.withLock { $0 } }

    func release() { opener.finish() }

    func waitForHits(_ count: Int, timeout: Duration = .seconds(20)) async throws {
        let deadline = ContinuousClock.now + timeout
        while hits < count {
            guard ContinuousClock.now < deadline else {
                Issue.record("the page saw \(hits) requests, expected \(count)")
                throw CancellationError()
            }
            try await Task.sleep(for: .milliseconds(20))
        }
    }

    static func run<T: Sendable>(_ body: (SlowPage) async throws -> T) async throws -> T {
        let router = Router()
        let holder = Mutex<SlowPage?>(nil)
        router.get("page") { _, _ -> String in
            guard let page = holder.withLock({ $0 }) else { return "not ready" }
            let first = page.counter.withLock { count -> Bool in
                count += 1
                return count == 1
            }
            if first { for await _ in page.gate {} }
            return "the page content"
        }
        return try await LoopbackServer.run(router, label: "slow-page") { baseURL, _ in
            let page = SlowPage(url: baseURL + "/page")
            holder.withLock { $0 = page }
            defer { page.release() }
            return try await body(page)
        }
    }
}
