import AsyncHTTPClient
import Foundation
import KeelCore
import KeelTestSupport
import KeelWorkerRPC
import Logging
import NIOCore
import NIOHTTP1
import PostgresNIO
import Testing

/// Durable mode around the edges of a turn: cancellation reaching a worker, graceful hand-back,
/// a worker outliving and outwaiting its server, retries, dead letters, the no-progress seal, a
/// late finisher refused, and a server killed with SIGKILL mid-turn.
@Suite("durable execution: lifecycle", .serialized)
struct DurableLifecycleTests {
    static let slowReply = DurableExecutionTests.slowReply

    static func providerEnvironment(_ baseURL: String) -> [String: String] {
        ["OPENAI_BASE_URL": baseURL + "/v1", "DEFAULT_OPENAI_API_KEY": DurableExecutionTests.providerKey]
    }

    /// An answer whose first words come at once and whose rest trickles in 20-byte pieces half a
    /// second apart (about 40 s): long enough that a cancellation that did not reach the worker
    /// cannot pass for a prompt one, however loaded the machine, while a dropped connection shows
    /// at the fake within a second or so (a write after the close fails).
    static let trickledReply: FakeReply = {
        let events = OpenAIWire.finalText
        let firstWords = ByteBuffer(string: events.prefix(2).joined())
        return FakeReply(chunks: [firstWords] + FakeReply.split(events.dropFirst(2).joined(), size: 20), gap: .milliseconds(500))
    }()

    @Test("cancel reaches the worker: the turn ends at once and nothing of it is written afterwards")
    func cancelRunningStep() async throws {
        let quickAnswer = FakeReply.stream(OpenAIWire.finalText)
        try await DurableExecutionTests.withDurableServer(script: [Self.trickledReply, quickAnswer]) { server, port, fake, _ in
            let worker = try WorkerProcess.start(port: port)
            let sessionID = try await server.createSession(["model_id": "openai/gpt-4o-mini"])
            _ = try await server.send(sessionID, "a long answer, please")
            try await server.waitForEvent(sessionID, "output.message.delta", timeout: .seconds(20))
            let started = ContinuousClock.now
            let cancel = try await server.request(.post, "/v1/sessions/\(sessionID)/cancel")
            #expect(cancel.status == 200)
            // The rest of the answer takes another 40 s: a cancel waiting for the step would be
            // slower than this bound, which is loose for a loaded machine.
            #expect(ContinuousClock.now - started < .seconds(20))
            let events = try await server.waitForIdle(sessionID)
            #expect(DurableExecutionTests.count(events, "turn.cancelled") == 1)
            #expect(DurableExecutionTests.count(events, "turn.completed") == 0)
            // The worker dropped the provider's stream: the fake saw its client leave mid-answer
            // (an uncancelled worker would read it to its end, 40 s on).
            let end = try await fake.waitForEnd(ofReply: 0)
            #expect(end != nil && end != .played, "the slow answer ended \(String(describing: end))")
            // Nothing of the turn may follow. With the stream gone only work already in flight in
            // the worker could still write; there is no event for "nothing more", so this is a
            // window, generous for a write already under way.
            try await Task.sleep(for: .seconds(2))
            let later = try await server.events(sessionID)
            #expect(later.count == events.count, "no event after the cancellation")
            DurableExecutionTests.expectGapless(later)
            // The worker is still healthy and runs the next turn to completion.
            _ = try await server.send(sessionID, "and now something quick")
            let next = try await server.waitForIdle(sessionID, turns: 2, timeout: .seconds(20))
            #expect(DurableExecutionTests.count(next, "turn.completed") == 1)
            #expect(DurableExecutionTests.count(next, "turn.failed") == 0)
            #expect(await worker.terminate() == 0)
        }
    }

    @Test("deleting a session while a worker streams into it: clean delete, the worker carries on")
    func deleteSessionMidStep() async throws {
        try await DurableExecutionTests.withDurableServer(script: [Self.slowReply]) { server, port, _, url in
            let worker = try WorkerProcess.start(port: port)
            let doomed = try await server.createSession(["model_id": "openai/gpt-4o-mini"])
            _ = try await server.send(doomed, "stream for a while")
            try await server.waitForEvent(doomed, "output.message.delta", timeout: .seconds(20))
            let deleted = try await server.request(.delete, "/v1/sessions/\(doomed)")
            #expect((200..<300).contains(deleted.status), "\(deleted.text)")
            #expect(try await server.request(.get, "/v1/sessions/\(doomed)").status == 404)
            #expect(try await DurableLifecycleTests.count("SELECT count(*) FROM durable_tasks", url) == 0)
            // The worker dropped the orphaned step and serves the next session.
            let next = try await server.createSession()
            _ = try await server.send(next, "still there?")
            let events = try await server.waitForIdle(next, timeout: .seconds(20))
            #expect(DurableExecutionTests.count(events, "turn.completed") == 1)
            #expect(await worker.terminate() == 0)
        }
    }

    @Test("SIGTERM: a worker hands its running step back and another finishes it without waiting for reclamation")
    func gracefulHandBack() async throws {
        try await DurableExecutionTests.withDurableServer(
            script: [Self.slowReply, Self.slowReply], extra: ["DURABLE_STALE_TASK_THRESHOLD_SECS": "60"]
        ) { server, port, fake, _ in
            let first = try WorkerProcess.start(port: port, extra: ["WORKER_SHUTDOWN_GRACE_SECS": "0.2"])
            let sessionID = try await server.createSession(["model_id": "openai/gpt-4o-mini"])
            _ = try await server.send(sessionID, "hello")
            try await server.waitForEvent(sessionID, "output.message.delta", timeout: .seconds(20))
            #expect(await first.terminate() == 0, "the worker exits cleanly on SIGTERM")
            #expect(first.log.contains("handing back a running step"))

            let second = try WorkerProcess.start(port: port)
            // Well inside the 60 s stale threshold: only a hand-back makes this possible.
            let events = try await server.waitForIdle(sessionID, timeout: .seconds(20))
            #expect(DurableExecutionTests.count(events, "turn.completed") == 1)
            DurableExecutionTests.expectGapless(events)
            DurableExecutionTests.expectNoDuplicateMessages(events)
            #expect(fake.count == 2)
            await second.terminate()
        }
    }

    @Test("a worker started before the server waits for it, and reconnects when the server restarts")
    func workerWaitsAndReconnects() async throws {
        try await PostgresPersistenceTests.withDatabase { url in
            let port = try freeLoopbackPort()
            let worker = try WorkerProcess.start(port: port, extra: ["LOG_LEVEL": "debug"])
            // Two refused attempts: the worker is retrying, not giving up at the first.
            #expect(await worker.waitForLog(WorkerProcess.unreachableLine, count: 2), "\(worker.log)")
            #expect(worker.process.isRunning, "the worker waits for the server")
            let environment = DurableExecutionTests.environment(url, grpcPort: port)
            let sessionID = try await TestServer.run(environment: environment) { server in
                let sessionID = try await server.createSession()
                _ = try await server.send(sessionID, "first")
                let events = try await server.waitForIdle(sessionID, timeout: .seconds(20))
                #expect(DurableExecutionTests.count(events, "turn.completed") == 1)
                return sessionID
            }
            #expect(worker.process.isRunning, "the worker outlives the server")
            try await TestServer.run(environment: environment) { server in
                _ = try await server.send(sessionID, "second")
                let events = try await server.waitForIdle(sessionID, turns: 2, timeout: .seconds(30))
                #expect(DurableExecutionTests.count(events, "turn.completed") == 2)
                DurableExecutionTests.expectGapless(events)
            }
            #expect(await worker.terminate() == 0)
        }
    }

    @Test("a worker waiting for its server stops at once on SIGTERM, and gives up after the connect timeout")
    func workerConnectWait() async throws {
        let port = try freeLoopbackPort()
        let waiting = try WorkerProcess.start(port: port, extra: ["LOG_LEVEL": "debug"])
        // SIGTERM only once the worker is in its connect wait (not still starting up).
        #expect(await waiting.waitForLog(WorkerProcess.unreachableLine), "\(waiting.log)")
        let started = ContinuousClock.now
        #expect(await waiting.terminate() == 0)
        // Its connect timeout is 20 s: stopping well before that is stopping at once.
        #expect(ContinuousClock.now - started < .seconds(10))

        let impatient = try WorkerProcess.start(port: port, extra: ["WORKER_GRPC_CONNECT_TIMEOUT": "1"])
        #expect(await impatient.waitForExit(within: .seconds(10)) == 3)
        #expect(impatient.log.contains("could not reach the control plane at 127.0.0.1:\(port) within 1"))
    }

    @Test("retries with backoff and a dead letter; the no-progress seal; a late finisher is refused")
    func retriesSealAndLateFinisher() async throws {
        try await PostgresPersistenceTests.withDatabase { url in
            let port = try freeLoopbackPort()
            let environment = DurableExecutionTests.environment(url, grpcPort: port).merging([
                "DURABLE_MAX_ATTEMPTS": "3", "DURABLE_NO_PROGRESS_SEAL_THRESHOLD": "2",
                "DURABLE_STALE_TASK_THRESHOLD_SECS": "0.5",
            ]) { $1 }
            try await TestServer.run(environment: environment) { server in
                var logger = Logger(label: "rogue-worker")
                logger.logLevel = .critical
                try await GRPCStepChannel.withConnection(
                    host: "127.0.0.1", port: port, authToken: WorkerProcess.token, connectTimeout: .seconds(10),
                    logger: logger
                ) { channel in
                    // Three failed attempts, with backoff between them, then the dead letter.
                    let failing = try await server.createSession()
                    _ = try await server.send(failing, "fail me")
                    var step = try await Self.claimOne(channel, worker: "rogue-a")
                    for attempt in 1...3 {
                        #expect(step.attempt == attempt)
                        try await channel.fail(step.lease, error: "boom \(attempt)")
                        if attempt < 3 {
                            #expect(try await channel.claim(workerID: "rogue-a", limit: 1).isEmpty, "backoff before the retry")
                            step = try await Self.claimOne(channel, worker: "rogue-a")
                        }
                    }
                    let failed = try await server.waitForIdle(failing)
                    let failure = failed.last { $0["type"] == "turn.failed" }
                    #expect(failure?["data"]?["error_code"] == "processing_error")
                    #expect(try await Self.count("SELECT count(*) FROM durable_dead_letters WHERE reason = 'attempts_exhausted'", url) == 1)

                    // Claimed and abandoned twice (no heartbeat, no progress): the turn is sealed.
                    let abandoned = try await server.createSession()
                    _ = try await server.send(abandoned, "abandon me")
                    let first = try await Self.claimOne(channel, worker: "rogue-b")
                    let second = try await Self.claimOne(channel, worker: "rogue-c")
                    #expect(second.lease.taskID == first.lease.taskID && second.attempt == 2, "reclaimed, not duplicated")
                    // The first claimer lost its lease: whatever it sends now is refused.
                    #expect(try await channel.heartbeat(first.lease) == false)
                    await #expect(throws: StepChannelError.leaseLost) {
                        try await channel.emit(
                            [EventDraft(type: EventType.reasonStarted, context: EventContext(), data: [:])],
                            sessionID: abandoned, lease: first.lease)
                    }
                    await #expect(throws: StepChannelError.leaseLost) {
                        try await channel.complete(
                            first.lease,
                            StepCompletion(
                                events: [], next: nil, progress: first.progress,
                                outcome: .completed(iterations: 1, usage: Usage(), finalMessageID: nil, reachedIterationCap: false)))
                    }
                    let sealed = try await server.waitForIdle(abandoned)
                    let end = sealed.last { $0["type"] == "turn.failed" }
                    #expect(end?["data"]?["error_code"] == "no_progress")
                    #expect(end?["data"]?["error"]?.stringValue?.contains("without making progress") == true)
                    #expect(DurableExecutionTests.count(sealed, "turn.completed") == 0)
                    #expect(try await Self.count("SELECT count(*) FROM durable_dead_letters WHERE reason = 'no_progress'", url) == 1)
                    #expect(try await Self.count("SELECT count(*) FROM durable_tasks WHERE status = 'claimed'", url) == 0)
                }
            }
        }
    }

    @Test("a server killed with SIGKILL mid-turn: the restarted server finishes the turn, nothing lost")
    func serverKilledMidTurn() async throws {
        try await PostgresPersistenceTests.withDatabase { url in
            try await FakeProviderServer.run(script: [Self.slowReply, Self.slowReply]) { fake, baseURL in
                let httpPort = try freeLoopbackPort()
                let grpcPort = try freeLoopbackPort()
                let environment = DurableExecutionTests.environment(url, grpcPort: grpcPort, embedded: 2)
                    .merging(Self.providerEnvironment(baseURL)) { $1 }
                    .merging(["PORT": String(httpPort), "HOST": "127.0.0.1", "LOG_LEVEL": "warning", "LOG_FORMAT": "text"]) { $1 }
                let api = ExternalAPI(baseURL: "http://127.0.0.1:\(httpPort)")
                let first = try ServerProcess.start(environment)
                try await api.waitUntilHealthy()
                let sessionID = try await api.createSession(["model_id": "openai/gpt-4o-mini"])
                try await api.send(sessionID, "survive this")
                try await api.waitForEvent(sessionID, "output.message.delta", timeout: .seconds(20))
                let before = try await api.events(sessionID)
                first.kill9()

                let second = try ServerProcess.start(environment)
                try await api.waitUntilHealthy()
                let events = try await api.waitForIdle(sessionID, timeout: .seconds(30))
                await second.terminate()

                #expect(Array(events.prefix(before.count)) == before, "nothing written before the crash is lost or changed")
                #expect(DurableExecutionTests.count(events, "turn.completed") == 1)
                #expect(DurableExecutionTests.count(events, "turn.started") == 1)
                DurableExecutionTests.expectGapless(events)
                DurableExecutionTests.expectNoDuplicateMessages(events)
                #expect(fake.count == 2, "the interrupted model call was redone once")
            }
        }
    }

    @Test("SIGTERM to a server mid-turn: its executor finishes the step, nothing is left claimed, the next server ends the turn")
    func serverGracefulShutdown() async throws {
        try await PostgresPersistenceTests.withDatabase { url in
            try await FakeProviderServer.run(script: [Self.slowReply, Self.slowReply]) { fake, baseURL in
                let httpPort = try freeLoopbackPort()
                let grpcPort = try freeLoopbackPort()
                let environment = DurableExecutionTests.environment(url, grpcPort: grpcPort, embedded: 2)
                    .merging(Self.providerEnvironment(baseURL)) { $1 }
                    .merging(["PORT": String(httpPort), "HOST": "127.0.0.1", "DURABLE_STALE_TASK_THRESHOLD_SECS": "60"]) { $1 }
                let api = ExternalAPI(baseURL: "http://127.0.0.1:\(httpPort)")
                let first = try ServerProcess.start(environment)
                try await api.waitUntilHealthy()
                let sessionID = try await api.createSession(["model_id": "openai/gpt-4o-mini"])
                try await api.send(sessionID, "finish what you started")
                try await api.waitForEvent(sessionID, "output.message.delta", timeout: .seconds(20))
                await first.terminate()
                #expect(first.process.terminationStatus == 0)
                #expect(try await DurableLifecycleTests.count("SELECT count(*) FROM durable_tasks WHERE status = 'claimed'", url) == 0)

                let second = try ServerProcess.start(environment)
                try await api.waitUntilHealthy()
                // Well inside the 60 s stale threshold: nothing waited for reclamation.
                let events = try await api.waitForIdle(sessionID, timeout: .seconds(20))
                await second.terminate()
                #expect(DurableExecutionTests.count(events, "turn.completed") == 1)
                DurableExecutionTests.expectGapless(events)
                DurableExecutionTests.expectNoDuplicateMessages(events)
                #expect(fake.count == 1, "the running model call was finished, not redone")
            }
        }
    }

    /// Claims one step, waiting (bounded) until one is ready.
    static func claimOne(_ channel: GRPCStepChannel, worker: String, timeout: Duration = .seconds(10)) async throws
        -> ClaimedStep
    {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if let step = try await channel.claim(workerID: worker, limit: 1).first { return step }
            try await Task.sleep(for: .milliseconds(50))
        }
        Issue.record("no step became claimable in time")
        throw CancellationError()
    }

    static func count(_ sql: String, _ url: String) async throws -> Int {
        guard let components = URLComponents(string: url), let host = components.host, let port = components.port else {
            return -1
        }
        let client = PostgresClient(
            configuration: .init(
                host: host, port: port, username: components.user ?? "postgres", password: components.password,
                database: String(components.path.dropFirst()), tls: .disable))
        return try await withThrowingTaskGroup(of: Int.self) { group in
            group.addTask {
                await client.run()
                return -1
            }
            defer { group.cancelAll() }
            var total = -1
            for try await value in try await client.query(PostgresQuery(unsafeSQL: sql)).decode(Int.self) { total = value }
            return total
        }
    }
}

/// A real `keel server` process.
final class ServerProcess: @unchecked Sendable {
    let process: Process

    static func start(_ environment: [String: String]) throws -> ServerProcess {
        let process = Process()
        process.executableURL = CLIStartupTests.binary
        process.arguments = ["server"]
        process.environment = ["PATH": "/usr/bin:/bin"].merging(environment) { $1 }
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        return ServerProcess(process: process)
    }

    private init(process: Process) {
        self.process = process
    }

    deinit {
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
    }

    func kill9() {
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }

    func terminate() async {
        if process.isRunning { kill(process.processIdentifier, SIGTERM) }
        let deadline = ContinuousClock.now + .seconds(15)
        while process.isRunning && ContinuousClock.now < deadline { try? await Task.sleep(for: .milliseconds(20)) }
        if process.isRunning { kill9() }
    }
}

/// The HTTP API of a server in another process.
struct ExternalAPI: SessionEventReader {
    let baseURL: String

    func call(_ method: HTTPMethod, _ path: String, json: JSONValue? = nil) async throws -> (status: Int, json: JSONValue) {
        var request = HTTPClientRequest(url: baseURL + path)
        request.method = method
        if let json {
            request.headers.add(name: "content-type", value: "application/json")
            request.body = .bytes(ByteBuffer(string: json.jsonString))
        }
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(10))
        let body = try await response.body.collect(upTo: 1 << 24)
        return (Int(response.status.code), JSONValue.parse(String(buffer: body)) ?? .null)
    }

    func waitUntilHealthy(timeout: Duration = .seconds(30)) async throws {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if let reply = try? await call(.GET, "/health"), reply.status == 200 { return }
            try await Task.sleep(for: .milliseconds(100))
        }
        Issue.record("the server did not become healthy")
        throw CancellationError()
    }

    func createSession(_ body: JSONValue) async throws -> String {
        let reply = try await call(.POST, "/v1/sessions", json: body)
        #expect(reply.status == 201)
        return reply.json["id"]?.stringValue ?? ""
    }

    func send(_ sessionID: String, _ text: String) async throws {
        let reply = try await call(
            .POST, "/v1/sessions/\(sessionID)/messages",
            json: ["message": ["role": "user", "content": [["type": "text", "text": .string(text)]]]])
        #expect(reply.status == 201)
    }

    func events(_ sessionID: String) async throws -> [JSONValue] {
        try await call(.GET, "/v1/sessions/\(sessionID)/events").json["data"]?.arrayValue ?? []
    }
}
