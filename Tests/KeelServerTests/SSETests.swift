import Foundation
import KeelCore
import Testing

@Suite("Server-sent events")
struct SSETests {
    @Test("resume after a forced disconnect replays exactly the missed events (since_id and Last-Event-ID)")
    func resume() async throws {
        try await TestServer.run { server in
            let sessionID = try await server.createSession()
            _ = try await server.send(sessionID, "first turn")
            try await server.waitForIdle(sessionID)

            var first: SSEReader? = try await SSEReader.open("\(server.baseURL)/v1/sessions/\(sessionID)/sse")
            _ = try await first?.next()
            let seen = try #require(try await first?.frames(until: { $0.event == "turn.started" }))
            let lastSeen = try #require(seen.last?.id)
            first = nil  // forced disconnect mid-history

            _ = try await server.send(sessionID, "second turn")
            try await server.waitForIdle(sessionID, turns: 2)
            let all = try await server.events(sessionID)

            for headers in [[], [("Last-Event-ID", lastSeen)]] {
                let url = headers.isEmpty
                    ? "\(server.baseURL)/v1/sessions/\(sessionID)/sse?since_id=\(lastSeen)"
                    : "\(server.baseURL)/v1/sessions/\(sessionID)/sse"
                let resumed = try await SSEReader.open(url, headers: headers)
                #expect(try await resumed.next()?.event == "connected")
                let replay = try await resumed.frames(until: { $0.json?["sequence"]?.intValue == all.count })
                let combined = seen.compactMap(\.id) + replay.compactMap(\.id)
                #expect(combined == all.compactMap { $0["id"]?.stringValue }, "no gaps, no duplicates")
            }
        }
    }

    @Test("live events arrive without polling and type filters apply")
    func filters() async throws {
        try await TestServer.run { server in
            let sessionID = try await server.createSession()
            let stream = try await SSEReader.open(
                "\(server.baseURL)/v1/sessions/\(sessionID)/sse?exclude=output.message.delta&exclude=llm.generation")
            _ = try await stream.next()
            _ = try await server.send(sessionID, "hello there")
            let frames = try await stream.frames(until: { $0.event == "session.idled" })
            #expect(!frames.contains { $0.event == "output.message.delta" || $0.event == "llm.generation" })
            #expect(frames.contains { $0.event == "turn.completed" })

            let bad = try await server.request(.get, "/v1/sessions/\(sessionID)/sse?types=not.a.type")
            #expect(bad.status == 400)
            #expect(bad.json["error"]?["code"] == "invalid_filter")
            let withBody = try await server.request(.get, "/v1/sessions/\(sessionID)/sse", raw: "unexpected")
            #expect(withBody.status == 400, "a stream request takes no body")
        }
    }

    @Test("heartbeats at the configured interval, then a disconnecting frame and a clean close")
    func heartbeatAndCycle() async throws {
        try await TestServer.run(environment: ["SSE_HEARTBEAT_INTERVAL_SECS": "0.2", "SSE_REALTIME_CYCLE_SECS": "1"]) {
            server in
            let sessionID = try await server.createSession()
            let started = ContinuousClock.now
            let stream = try await SSEReader.open("\(server.baseURL)/v1/sessions/\(sessionID)/sse")
            let frames = try await stream.frames(until: { $0.event == "disconnecting" }, timeout: .seconds(30))
            let elapsed = ContinuousClock.now - started
            #expect(frames.filter { $0.isComment && $0.data == "heartbeat" }.count >= 2)
            let disconnecting = try #require(frames.last)
            #expect(disconnecting.json?["reason"] == "connection_cycle")
            #expect(disconnecting.json?["retry_ms"]?.intValue == 100)
            // Never early (timers do not fire early); "late" is bounded loosely for a loaded machine,
            // still far below the 300 s default cycle.
            #expect(elapsed >= .milliseconds(750) && elapsed < .seconds(20), "cycle within ±20 % jitter: \(elapsed)")
            #expect(try await stream.next(timeout: .seconds(30)) == nil, "server closes after disconnecting")
        }
    }

    @Test("per-session, per-organization and global stream limits answer 429 with the envelope")
    func limits() async throws {
        try await TestServer.run(environment: ["SSE_PER_SESSION_MAX": "1", "SSE_PER_ORG_MAX": "2", "SSE_GLOBAL_MAX": "3"]) {
            server in
            let a = try await server.createSession()
            let b = try await server.createSession()
            let first = try await SSEReader.open("\(server.baseURL)/v1/sessions/\(a)/sse")
            #expect(first.status == 200)
            let sameSession = try await SSEReader.open("\(server.baseURL)/v1/sessions/\(a)/sse")
            #expect(sameSession.status == 429)
            #expect(JSONValue.parse(sameSession.bodyText ?? "")?["error"]?["code"] == "too_many_streams")
            #expect(sameSession.bodyText?.contains("SSE_PER_SESSION_MAX") == true)
            let second = try await SSEReader.open("\(server.baseURL)/v1/sessions/\(b)/sse")
            #expect(second.status == 200)
            let c = try await server.createSession()
            let orgLimited = try await SSEReader.open("\(server.baseURL)/v1/sessions/\(c)/sse")
            #expect(orgLimited.status == 429)
            #expect(orgLimited.bodyText?.contains("SSE_PER_ORG_MAX") == true)
            _ = (first, second)
        }
        try await TestServer.run(environment: ["SSE_GLOBAL_MAX": "1"]) { server in
            let a = try await server.createSession()
            let b = try await server.createSession()
            let first = try await SSEReader.open("\(server.baseURL)/v1/sessions/\(a)/sse")
            #expect(first.status == 200)
            let refused = try await SSEReader.open("\(server.baseURL)/v1/sessions/\(b)/sse")
            #expect(refused.status == 429)
            #expect(refused.bodyText?.contains("SSE_GLOBAL_MAX") == true)
            _ = first
        }
    }

    @Test("deleting the session ends its open streams")
    func deletionEndsStream() async throws {
        try await TestServer.run { server in
            let sessionID = try await server.createSession()
            let stream = try await SSEReader.open("\(server.baseURL)/v1/sessions/\(sessionID)/sse")
            _ = try await stream.frames(until: { $0.event == "session.started" })
            #expect(try await server.request(.delete, "/v1/sessions/\(sessionID)").status == 204)
            #expect(try await stream.next(timeout: .seconds(30)) == nil, "the server closes the stream")
        }
    }

    @Test("a client closing its stream frees the slot at once, not at the next heartbeat")
    func clientCloseFreesSlotAtOnce() async throws {
        // Heartbeats far apart: before the fix a departed client was noticed only when one was
        // written, so the third open on this session got 429 for up to a minute. "At once" allows
        // a loaded machine 10 s, still far from the 60 s heartbeat.
        let environment = ["SSE_PER_SESSION_MAX": "2", "SSE_PER_ORG_MAX": "2", "SSE_HEARTBEAT_INTERVAL_SECS": "60"]
        try await TestServer.run(environment: environment) { server in
            let sessionID = try await server.createSession()
            let path = "/v1/sessions/\(sessionID)/sse"
            for round in 1...6 {
                let opened = try await openPromptly(server, path)
                #expect(opened.status == 200, "open \(round) of 6: \(opened.text.suffix(300))")
            }
            // Every slot is back: as many streams as the limit allows open side by side.
            let first = try await holdPromptly("\(server.baseURL)\(path)")
            let second = try await holdPromptly("\(server.baseURL)\(path)")
            #expect(first.status == 200)
            #expect(second.status == 200)
        }
    }

    /// Opens a stream and keeps it; a refusal is retried until `limit` passes (the server learns
    /// of a previous close asynchronously).
    private func holdPromptly(_ url: String, within limit: Duration = .seconds(10)) async throws -> SSEReader {
        let deadline = ContinuousClock.now + limit
        while true {
            let reader = try await SSEReader.open(url)
            if reader.status == 200 || ContinuousClock.now >= deadline { return reader }
            try await Task.sleep(for: .milliseconds(20))
        }
    }

    /// Opens a stream over a bare connection, reads `connected`, closes it. A refusal is retried
    /// until `limit` passes: the server learns of the previous close asynchronously, but promptly.
    private func openPromptly(_ server: TestServer, _ path: String, within limit: Duration = .seconds(10))
        async throws -> RawHTTPConnection.Reply
    {
        let deadline = ContinuousClock.now + limit
        while true {
            let reply = try await RawHTTPConnection.get(
                port: server.port, path, readingUntil: ["event: connected", "too_many_streams"])
            if reply.status == 200 || ContinuousClock.now >= deadline { return reply }
            try await Task.sleep(for: .milliseconds(20))
        }
    }

    @Test("a replay read in small pages is complete, ordered and filtered; resuming still works")
    func pagedReplay() async throws {
        try await TestServer.run(environment: ["SSE_REPLAY_PAGE_EVENTS": "3"]) { server in
            let sessionID = try await server.createSession()
            _ = try await server.send(sessionID, "first turn with several words to stream")
            try await server.waitForIdle(sessionID)
            _ = try await server.send(sessionID, "second turn")
            try await server.waitForIdle(sessionID, turns: 2)
            let all = try await server.events(sessionID)
            let ids = all.compactMap { $0["id"]?.stringValue }
            #expect(all.count > 9, "the history spans several pages")

            let full = try await SSEReader.open("\(server.baseURL)/v1/sessions/\(sessionID)/sse")
            #expect(try await full.next()?.event == "connected")
            let replay = try await full.frames(until: { $0.json?["sequence"]?.intValue == all.count })
            #expect(replay.compactMap(\.id) == ids, "every event once, in order, across page boundaries")

            let filtered = try await SSEReader.open(
                "\(server.baseURL)/v1/sessions/\(sessionID)/sse?exclude=output.message.delta")
            _ = try await filtered.next()
            let kept = try await filtered.frames(until: { $0.json?["sequence"]?.intValue == all.count })
            let expectedKept = all.filter { $0["type"]?.stringValue != "output.message.delta" }.compactMap { $0["id"]?.stringValue }
            #expect(kept.compactMap(\.id) == expectedKept)

            let cursor = ids[4]
            for (url, headers) in [
                ("\(server.baseURL)/v1/sessions/\(sessionID)/sse?since_id=\(cursor)", [(String, String)]()),
                ("\(server.baseURL)/v1/sessions/\(sessionID)/sse", [("Last-Event-ID", cursor)]),
            ] {
                let resumed = try await SSEReader.open(url, headers: headers)
                _ = try await resumed.next()
                let rest = try await resumed.frames(until: { $0.json?["sequence"]?.intValue == all.count })
                #expect(rest.compactMap(\.id) == Array(ids.dropFirst(5)))
            }
        }
    }

    @Test("a closed stream frees its slot")
    func slotReleased() async throws {
        try await TestServer.run(environment: ["SSE_PER_SESSION_MAX": "1", "SSE_REALTIME_CYCLE_SECS": "0.3"]) { server in
            let a = try await server.createSession()
            let first = try await SSEReader.open("\(server.baseURL)/v1/sessions/\(a)/sse")
            _ = try await first.frames(until: { $0.event == "disconnecting" })
            #expect(try await first.next() == nil)
            // The slot is released as the server's side of the stream ends, which may trail the
            // close the client saw: retry a refusal (bounded) instead of guessing a pause.
            let again = try await holdPromptly("\(server.baseURL)/v1/sessions/\(a)/sse")
            #expect(again.status == 200)
        }
    }
}
