import Foundation
import HTTPTypes
import KeelCore
import KeelTestSupport
import KeelWorkerRPC
import Logging
import NIOCore
import Synchronization
import Testing

/// Issue 13: the operations API of the durable engine, over HTTP, on PostgreSQL, with the server
/// and real `keel worker` processes: the worker registry and draining, dead letters and their
/// requeue, the monitoring stream, the providers' circuit breakers and retention.
@Suite("Durable operations", .serialized)
struct DurableOperationsTests {
    /// Worker processes report every 0.3 s; the server counts one silent for 1.5 s as lost.
    static let workerEnvironment = [
        "WORKER_HEARTBEAT_INTERVAL_SECS": "0.3", "MAX_CONCURRENT_TASKS": "3", "DEPLOYMENT_GRADE": "preview",
    ]

    static func workers(_ server: TestServer, status: String? = nil) async throws -> [JSONValue] {
        let path = "/v1/durable/workers" + (status.map { "?status=\($0)" } ?? "")
        let reply = try await server.request(.get, path)
        #expect(reply.status == 200, "\(reply.text)")
        return reply.json["data"]?.arrayValue ?? []
    }

    /// Polls `read` until `done` holds (bounded).
    static func eventually<T: Sendable>(
        _ what: String, timeout: Duration = .seconds(20), _ read: () async throws -> T, until done: (T) -> Bool
    ) async throws -> T {
        let deadline = ContinuousClock.now + timeout
        var value = try await read()
        while !done(value) && ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(100))
            value = try await read()
        }
        #expect(done(value), "\(what): \(value)")
        return value
    }

    static func turnID(_ events: [JSONValue]) -> String? {
        events.first { $0["type"] == "turn.started" }?["context"]?["turn_id"]?.stringValue
    }

    @Test("the worker list shows both workers; a drained worker takes no new steps; a killed one is dropped as lost")
    func workersDrainAndLoss() async throws {
        try await PostgresPersistenceTests.withDatabase { url in
            let port = try freeLoopbackPort()
            try await TestServer.run(environment: DurableExecutionTests.environment(url, grpcPort: port)) { server in
                let monitor = try await SSEReader.open(server.baseURL + "/v1/durable/monitor/sse")
                #expect(monitor.status == 200)
                #expect(try await monitor.next()?.event == "connected")

                let a = try WorkerProcess.start(port: port, extra: Self.workerEnvironment.merging(["WORKER_ID": "worker-a"]) { $1 })
                let b = try WorkerProcess.start(port: port, extra: Self.workerEnvironment.merging(["WORKER_ID": "worker-b"]) { $1 })
                let both = try await Self.eventually("both workers report", { try await Self.workers(server) }) {
                    Set($0.compactMap { $0["id"]?.stringValue }) == ["worker-a", "worker-b"]
                }
                for worker in both {
                    #expect(worker["status"] == "active")
                    #expect(worker["concurrency"] == 3)
                    #expect(worker["version"] == .string(KeelCore.version))
                    #expect(worker["grade"] == "preview")
                    #expect(worker["address"]?.stringValue?.contains(":") == true)
                    #expect(worker["last_heartbeat_at"]?.stringValue != nil)
                }

                let drained = try await server.request(.post, "/v1/durable/workers/worker-a/drain")
                #expect(drained.status == 200, "\(drained.text)")
                #expect(drained.json["status"] == "draining")
                #expect(await a.waitForLog("worker drained"), "the worker hears of its drain in its next report")
                let change = try await monitor.frames(until: { $0.event == "worker.draining" })
                #expect(change.last?.id != nil && change.last?.json?["data"]?["worker_id"] == "worker-a")

                // New turns all run on worker-b.
                var sessions: [String] = []
                for index in 0..<4 {
                    let session = try await server.createSession(["model_id": "llmsim/sim"])
                    #expect(try await server.send(session, #"[[tool:current_time {}]] turn \#(index)"#).status == 201)
                    sessions.append(session)
                }
                for session in sessions {
                    let events = try await server.waitForIdle(session)
                    #expect(DurableExecutionTests.count(events, "turn.completed") == 1)
                    let turnID = try #require(Self.turnID(events))
                    let turn = try await server.request(.get, "/v1/durable/turns/\(turnID)")
                    let steps = turn.json["steps"]?.arrayValue ?? []
                    #expect(steps.count >= 2, "\(turn.text)")
                    #expect(steps.allSatisfy { $0["worker_id"] == "worker-b" && $0["status"] == "completed" }, "\(turn.text)")
                }

                // worker-b dies without a goodbye: after the stale threshold it is lost, not listed.
                b.kill9()
                _ = try await Self.eventually("worker-b dropped", { try await Self.workers(server) }) {
                    $0.compactMap { $0["id"]?.stringValue } == ["worker-a"]
                }
                let lost = try await Self.workers(server, status: "lost")
                #expect(lost.compactMap { $0["id"]?.stringValue } == ["worker-b"])
                #expect(try await Self.workers(server, status: "all").count == 2)
                let queue = try await server.request(.get, "/v1/durable/queue").json
                #expect(queue["workers"]?["lost"] == 1 && queue["workers"]?["draining"] == 1, "\(queue)")

                // Undrained, worker-a runs new turns; a graceful stop says goodbye.
                #expect(try await server.request(.post, "/v1/durable/workers/worker-a/undrain").json["status"] == "active")
                let later = try await server.createSession(["model_id": "llmsim/sim"])
                _ = try await server.send(later, "after the undrain")
                let events = try await server.waitForIdle(later)
                #expect(DurableExecutionTests.count(events, "turn.completed") == 1)
                #expect(await a.terminate() == 0)
                let all = try await Self.workers(server, status: "all")
                #expect(all.first { $0["id"] == "worker-a" }?["status"] == "stopped", "\(all)")
                #expect(try await server.request(.post, "/v1/durable/workers/nobody/drain").status == 404)
                #expect(try await server.request(.get, "/v1/durable/workers?status=sleeping").status == 400)
            }
        }
    }

    @Test("a step forced to fail is dead-lettered, shown with its errors, requeued and finished; the monitor shows it and resumes")
    func deadLetterRequeue() async throws {
        try await PostgresPersistenceTests.withDatabase { url in
            let port = try freeLoopbackPort()
            let environment = DurableExecutionTests.environment(url, grpcPort: port).merging([
                "DURABLE_MAX_ATTEMPTS": "2", "SSE_MONITORING_CYCLE_SECS": "4", "DURABLE_MONITOR_SNAPSHOT_SECS": "1",
            ]) { $1 }
            try await TestServer.run(environment: environment) { server in
                let monitor = try await SSEReader.open(server.baseURL + "/v1/durable/monitor/sse")
                let opening = try await monitor.frames(until: { $0.event == "snapshot" })
                #expect(opening.first?.event == "connected")
                let first = try #require(opening.last?.json)
                #expect(first["queue"]?["dead_letters"] == 0 && first["workers"] != nil, "\(first)")

                let sessionID = try await server.createSession(["model_id": "llmsim/sim"])
                _ = try await server.send(sessionID, "fail me, then finish")
                var logger = Logger(label: "rogue-worker")
                logger.logLevel = .critical
                try await GRPCStepChannel.withConnection(
                    host: "127.0.0.1", port: port, authToken: WorkerProcess.token, connectTimeout: .seconds(10),
                    logger: logger
                ) { channel in
                    for attempt in 1...2 {
                        let step = try await DurableLifecycleTests.claimOne(channel, worker: "rogue")
                        try await channel.fail(step.lease, error: "boom \(attempt)")
                    }
                }
                let failed = try await server.waitForIdle(sessionID)
                #expect(failed.last { $0["type"] == "turn.failed" }?["data"]?["error_code"] == "processing_error")
                let turnID = try #require(Self.turnID(failed))

                let letters = try await server.request(.get, "/v1/durable/dead-letters").json["data"]?.arrayValue ?? []
                #expect(letters.count == 1)
                let letter = try #require(letters.first)
                let taskID = try #require(letter["task_id"]?.stringValue)
                #expect(letter["turn_id"] == .string(turnID) && letter["reason"] == "attempts_exhausted" && letter["attempts"] == 2)
                #expect(letter["error_history"]?.arrayValue?.compactMap { $0["error"]?.stringValue } == ["boom 1", "boom 2"])
                #expect(letter["requeued_at"] == nil && letter["requeue_count"] == 0)
                let turn = try await server.request(.get, "/v1/durable/turns/\(turnID)").json
                #expect(turn["status"] == "failed")
                #expect(turn["steps"]?.arrayValue?.map { $0["status"] } == ["dead"], "\(turn)")
                #expect(try await server.request(.get, "/v1/durable/tasks?status=dead").json["data"]?.arrayValue?.count == 1)
                let queue = try await server.request(.get, "/v1/durable/queue").json
                #expect(queue["tasks"]?["dead"] == 1 && queue["dead_letters"] == 1, "\(queue)")

                // A monitor from the start of the log replays the dead letter's creation.
                let replaying = try await SSEReader.open(server.baseURL + "/v1/durable/monitor/sse?since_id=0")
                let created = try await replaying.frames(until: { $0.event == "snapshot" })
                let creation = try #require(created.first { $0.event == "dead_letter.created" }, "\(created)")
                let createdID = try #require(creation.id)
                #expect(creation.json?["data"]?["task_id"] == .string(taskID))
                #expect(created.last?.json?["queue"]?["dead_letters"] == 1)

                // Requeued, its turn runs again from the dead step on a real worker and finishes.
                let requeued = try await server.request(.post, "/v1/durable/dead-letters/\(taskID)/requeue")
                #expect(requeued.status == 200, "\(requeued.text)")
                #expect(requeued.json["requeue_count"] == 1 && requeued.json["requeued_at"] != nil)
                let worker = try WorkerProcess.start(port: port, extra: Self.workerEnvironment)
                let finished = try await server.waitForIdle(sessionID, turns: 2)
                await worker.terminate()
                #expect(DurableExecutionTests.count(finished, "turn.completed") == 1)
                #expect(DurableExecutionTests.count(finished, "session.activated") == 2)
                DurableExecutionTests.expectGapless(finished)
                #expect(try await server.request(.get, "/v1/durable/turns/\(turnID)").json["status"] == "completed")
                let again = try await server.request(.post, "/v1/durable/dead-letters/\(taskID)/requeue")
                #expect(again.status == 409 && again.json["error"]?["code"] == "already_requeued", "\(again.text)")
                #expect(try await server.request(.get, "/v1/durable/dead-letters").json["data"]?.arrayValue?.isEmpty == true)
                let history = try await server.request(.get, "/v1/durable/dead-letters?include_requeued=true").json
                #expect(history["data"]?.arrayValue?.count == 1)
                #expect(try await server.request(.post, "/v1/durable/dead-letters/\(PublicID.make(.task))/requeue").status == 404)
                #expect(try await server.request(.post, "/v1/durable/dead-letters/not-an-id/requeue").status == 400)
                #expect(try await server.request(.post, "/v1/durable/turns/\(turnID)/cancel").json["error"]?["code"] == "turn_not_running")

                // The stream shows the requeue as it happens, then cycles (SSE_MONITORING_CYCLE_SECS=4) …
                let rest = try await replaying.frames(until: { $0.event == "disconnecting" }, timeout: .seconds(10))
                #expect(rest.contains { $0.event == "dead_letter.requeued" })
                #expect(rest.filter { $0.event == "snapshot" }.count >= 2, "snapshots every second")
                #expect(rest.last?.json?["reason"] == "connection_cycle")
                // … and resumes after the last change the client saw.
                let resumed = try await SSEReader.open(
                    server.baseURL + "/v1/durable/monitor/sse", headers: [("Last-Event-ID", createdID)])
                let replay = try await resumed.frames(until: { $0.event == "snapshot" })
                #expect(replay.compactMap(\.event).filter { $0.contains(".") } == ["dead_letter.requeued"], "\(replay)")
                let bad = try await SSEReader.open(server.baseURL + "/v1/durable/monitor/sse?since_id=-1")
                #expect(bad.status == 400)
            }
        }
    }

    /// A provider whose answers fail (HTTP 500) until it is told to recover.
    final class FlakyProvider: Sendable {
        let failing = Atomic<Bool>(true)
        var reply: @Sendable (Int) -> FakeReply {
            { [self] _ in
                failing.load(ordering: .acquiring)
                    ? .status(500, body: #"{"error":{"message":"upstream down","type":"server_error"}}"#)
                    : .stream(OpenAIWire.finalText)
            }
        }
    }

    @Test("a failing provider opens its breaker (turns fail fast without calling it), half-opens and closes when it recovers",
          arguments: ServerConfiguration.allCases)
    func circuitBreaker(_ configuration: ServerConfiguration) async throws {
        let flaky = FlakyProvider()
        try await withFakeProvider(flaky.reply) { baseURL, provider in
            let breaker = [
                "OPENAI_BASE_URL": baseURL + "/v1", "DEFAULT_OPENAI_API_KEY": "sk-breaker",
                "CIRCUIT_BREAKER_FAILURE_THRESHOLD": "2", "CIRCUIT_BREAKER_OPEN_SECS": "5",
                "DURABLE_MONITOR_SNAPSHOT_SECS": "0.2", "ENABLE_PROMETHEUS_METRICS": "true",
            ]
            let run: @Sendable ([String: String]) async throws -> Void = { environment in
                try await TestServer.run(environment: environment.merging(breaker) { $1 }) { server in
                    func turn(_ text: String) async throws -> (failure: JSONValue?, seconds: Double) {
                        let session = try await server.createSession(["model_id": "openai/gpt-4o-mini"])
                        let started = ContinuousClock.now
                        _ = try await server.send(session, text)
                        let events = try await server.waitForIdle(session, timeout: .seconds(60))
                        let elapsed = ContinuousClock.now - started
                        return (events.last { $0["type"] == "turn.failed" }?["data"], elapsed.inSeconds)
                    }
                    let slow = try await turn("one")
                    #expect(slow.failure?["error_code"] == "llm_error")
                    _ = try await turn("two")
                    let breakers = try await server.request(.get, "/v1/durable/circuit-breakers").json["data"]?.arrayValue ?? []
                    #expect(breakers.count == 1, "one breaker: the default organization's OpenAI provider and model")
                    let open = try #require(breakers.first)
                    let key = try #require(open["key"]?.stringValue)
                    #expect(key.hasPrefix("external:openai:provider_") && key.hasSuffix(":gpt-4o-mini"), "\(key)")
                    #expect(open["organization_id"] == .string(BuiltIn.organizationID))
                    #expect(open["state"] == "open" && open["consecutive_failures"] == 2, "\(breakers)")

                    let calls = provider.count
                    let fast = try await turn("three")
                    #expect(fast.failure?["error_code"] == "provider_unavailable", "\(String(describing: fast.failure))")
                    #expect(provider.count == calls, "an open breaker never calls the provider")
                    #expect(fast.seconds < slow.seconds, "fail fast: \(fast.seconds) s against \(slow.seconds) s with retries")
                    print("circuit breaker (\(configuration)): failing turn \(slow.seconds) s with retries, refused turn \(fast.seconds) s")
                    // Sampled every 0.2 s: the gauge says open and the refusal is counted.
                    _ = try await Self.eventually("breaker series", {
                        try await server.request(.get, "/metrics").text
                    }) {
                        $0.contains(#"keel_circuit_breaker_state{key="\#(key)"} 2"#)
                            && $0.contains(#"keel_circuit_breaker_refusals_total{key="\#(key)"} 1"#)
                    }

                    // Recovered: after the open period one probe goes through, succeeds and closes it.
                    flaky.failing.store(false, ordering: .releasing)
                    // (5 s: long enough that a loaded machine still reads it open above.)
                    try await Task.sleep(for: .seconds(5.2))
                    let probe = try await turn("four")
                    #expect(probe.failure == nil)
                    let closed = try await server.request(.get, "/v1/durable/circuit-breakers").json["data"]?.arrayValue
                    #expect(closed?.first { $0["key"] == .string(key) }?["state"] == "closed", "\(String(describing: closed))")
                }
            }
            switch configuration {
            case .memory:
                try await run([:])
            case .postgres:
                try await PostgresPersistenceTests.withDatabase { url in
                    try await run(PostgresPersistenceTests.environment(url).merging(["DURABLE_EMBEDDED_EXECUTORS": "2"]) { $1 })
                    #expect(try await DurableLifecycleTests.count(
                        "SELECT count(*)::bigint FROM durable_ops_events WHERE type LIKE 'circuit_breaker.%'", url) == 3,
                        "opened, half-opened, closed")
                }
            }
        }
    }

    @Test("retention deletes only what expired, in batches")
    func retention() async throws {
        try await PostgresPersistenceTests.withDatabase { url in
            let environment = PostgresPersistenceTests.environment(url).merging([
                "SESSION_TTL_DAYS": "7", "EVENT_RETENTION_DAYS": "3", "RETENTION_SWEEP_INTERVAL_SECS": "0.3",
                "RETENTION_BATCH_SIZE": "2",
            ]) { $1 }
            try await TestServer.run(environment: environment) { server in
                var sessions: [String] = []
                for name in ["expired", "old events", "fresh"] {
                    let session = try await server.createSession(["model_id": "llmsim/sim", "title": .string(name)])
                    _ = try await server.send(session, "hello \(name)")
                    try await server.waitForIdle(session)
                    sessions.append(session)
                }
                let (expired, aged, fresh) = (sessions[0], sessions[1], sessions[2])
                let freshEvents = try await server.events(fresh)
                let agedCount = try await server.events(aged).count
                // Age the data in the database: the expired session idle for 10 days; the first
                // four events of the other 5 days old (their UUIDv7 ids moved back with them).
                let tenDays = KeelJSON.timestamp(Date().addingTimeInterval(-10 * 86_400))
                let fiveDaysAgo = Date().addingTimeInterval(-5 * 86_400)
                let prefix = String(PublicID.lowerBound(.event, at: fiveDaysAgo).prefix(18))
                for statement in [
                    "UPDATE sessions SET doc = jsonb_set(doc, '{updated_at}', '\"\(tenDays)\"') WHERE id = '\(expired)' RETURNING 1",
                    "ALTER TABLE events DISABLE TRIGGER events_append_only",
                    """
                    UPDATE events SET id = '\(prefix)' || substr(id, 19), created_at = now() - interval '5 days'
                    WHERE session_id = '\(aged)' AND sequence <= 4 RETURNING 1
                    """,
                    "ALTER TABLE events ENABLE TRIGGER events_append_only",
                ] {
                    _ = try await DurableLifecycleTests.count(
                        statement.hasPrefix("ALTER") ? statement : "WITH changed AS (\(statement)) SELECT count(*)::bigint FROM changed",
                        url)
                }
                _ = try await Self.eventually("the expired session is deleted", {
                    try await server.request(.get, "/v1/sessions/\(expired)").status
                }) { $0 == 404 }
                let remaining = try await Self.eventually("old events deleted", { try await server.events(aged).count }) {
                    $0 == agedCount - 4
                }
                #expect(remaining == agedCount - 4)
                #expect(try await server.events(fresh) == freshEvents, "nothing younger is touched")
                #expect(try await server.request(.get, "/v1/sessions/\(aged)").status == 200)
                #expect(try await DurableLifecycleTests.count(
                    "SELECT count(*)::bigint FROM durable_turns WHERE session_id = '\(expired)'", url) == 0)
                // Appending after the sweep still works, and the log stays append-only for everyone else.
                _ = try await server.send(aged, "still here")
                try await server.waitForIdle(aged, turns: 2)
                await #expect(throws: (any Error).self) {
                    _ = try await DurableLifecycleTests.count(
                        "WITH d AS (DELETE FROM events WHERE session_id = '\(fresh)' RETURNING 1) SELECT count(*)::bigint FROM d", url)
                }
            }
        }
    }

    @Test("organization admins see their organization only; members get 403; workers need a platform administrator")
    func access() async throws {
        try await PostgresPersistenceTests.withDatabase { url in
            let environment = PostgresPersistenceTests.environment(url).merging([
                "AUTH_MODE": "full", "AUTH_JWT_SECRET": String(repeating: "j", count: 40), "AUTH_BCRYPT_COST": "4",
                "AUTH_ADMIN_EMAIL": "root@example.com", "AUTH_ADMIN_PASSWORD": "root password 1", "DURABLE_EMBEDDED_EXECUTORS": "1",
            ]) { $1 }
            try await TestServer.run(environment: environment) { server in
                let login = try await server.request(
                    .post, "/v1/auth/login", json: ["email": "root@example.com", "password": "root password 1"])
                let root = AuthTest.bearer(try #require(login.json["access_token"]?.stringValue, "\(login.text)"))
                let tenant = try await server.register("tenant@example.com")
                let member = try await server.register("member@example.com")
                let added = try await server.request(
                    .post, "/v1/orgs/current/members", json: ["email": "member@example.com", "role": "member"], headers: root)
                #expect(added.status == 201, "\(added.text)")

                // A turn of the tenant's, and one of the platform's default organization.
                let session = try await server.request(.post, "/v1/sessions", json: ["model_id": "llmsim/sim"], headers: tenant.headers)
                let sessionID = try #require(session.json["id"]?.stringValue)
                _ = try await server.request(
                    .post, "/v1/sessions/\(sessionID)/messages",
                    json: ["message": ["role": "user", "content": [["type": "text", "text": "hi"]]]], headers: tenant.headers)
                let events = try await Self.eventually("the tenant's turn", {
                    try await server.request(.get, "/v1/sessions/\(sessionID)/events", headers: tenant.headers).json["data"]?.arrayValue ?? []
                }) { $0.contains { $0["type"] == "session.idled" } }
                let turnID = try #require(Self.turnID(events))

                #expect(try await server.request(.get, "/v1/durable/turns/\(turnID)", headers: tenant.headers).status == 200)
                #expect(try await server.request(.get, "/v1/durable/turns/\(turnID)", headers: root).status == 200, "the platform sees all")
                let tenantQueue = try await server.request(.get, "/v1/durable/queue", headers: tenant.headers).json
                #expect(tenantQueue["workers"] == nil, "workers are the platform's")
                for path in ["/v1/durable/workers", "/v1/durable/workers/x/drain"] {
                    let method: HTTPRequest.Method = path.hasSuffix("drain") ? .post : .get
                    let reply = try await server.request(method, path, headers: tenant.headers)
                    #expect(reply.status == 403 && reply.json["error"]?["code"] == "forbidden", "\(path): \(reply.text)")
                }
                #expect(try await server.request(.get, "/v1/durable/workers", headers: root).status == 200)
                var asMember = member.headers
                asMember[HTTPField.Name("X-Org-Id")!] = BuiltIn.organizationID
                for path in ["/v1/durable/queue", "/v1/durable/turns", "/v1/durable/dead-letters", "/v1/durable/monitor/sse"] {
                    let reply = try await server.request(.get, path, headers: asMember)
                    #expect(reply.status == 403, "\(path) as a member: \(reply.text)")
                }
                let other = try await server.register("other@example.com")
                #expect(try await server.request(.get, "/v1/durable/turns/\(turnID)", headers: other.headers).status == 404)
                #expect(try await server.request(.post, "/v1/durable/turns/\(turnID)/cancel", headers: other.headers).status == 404)
                let othersList = try await server.request(.get, "/v1/durable/turns", headers: other.headers)
                #expect(othersList.status == 200 && !othersList.text.contains(turnID))
                #expect(try await server.request(.get, "/v1/durable/queue").status == 401)

                // Monitoring streams: at most SSE_PER_SESSION_MAX (5) per organization.
                let bearer = [("Authorization", "Bearer \(tenant.accessToken)")]
                var open: [SSEReader] = []
                for _ in 0..<5 {
                    let stream = try await SSEReader.open(server.baseURL + "/v1/durable/monitor/sse", headers: bearer)
                    #expect(stream.status == 200)
                    #expect(try await stream.next()?.event == "connected")
                    open.append(stream)
                }
                let refused = try await SSEReader.open(server.baseURL + "/v1/durable/monitor/sse", headers: bearer)
                #expect(refused.status == 429, "\(refused.bodyText ?? "")")
                let otherStream = try await SSEReader.open(
                    server.baseURL + "/v1/durable/monitor/sse", headers: [("Authorization", "Bearer \(other.accessToken)")])
                #expect(otherStream.status == 200, "another organization has its own five")
                // The tenant's stream carries its snapshot, without the platform's workers.
                let snapshot = try await open[0].frames(until: { $0.event == "snapshot" }).last?.json
                #expect(snapshot?["queue"] != nil && snapshot?["workers"] == nil, "\(String(describing: snapshot))")
            }
        }
    }

    @Test("DEV_MODE has breakers but no durable queue: the operations routes answer 404 durable_unavailable")
    func devMode() async throws {
        try await TestServer.run { server in
            for path in ["/v1/durable/queue", "/v1/durable/workers", "/v1/durable/turns", "/v1/durable/monitor/sse"] {
                let reply = try await server.request(.get, path)
                #expect(reply.status == 404 && reply.json["error"]?["code"] == "durable_unavailable", "\(path): \(reply.text)")
            }
            #expect(try await server.request(.get, "/v1/durable/circuit-breakers").json["data"] == [])
        }
    }
}
