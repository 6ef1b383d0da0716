import Foundation
import KeelCore
import Testing

/// `GET /sessions/{id}/events` and `/messages` answer in pages (default 500 events / 200
/// messages, at most 1000) instead of the whole log, with `has_more` and `next_after_sequence`.
@Suite("Event and message pages")
struct EventPagingTests {
    @Test("without a limit /events answers the default page; following next_after_sequence reads the rest once")
    func defaultEventPage() async throws {
        try await TestServer.run { server in
            let sessionID = try await server.createSession()
            // Each streamed word is an event (delta batching is off in tests): > 600 events.
            let words = (1...620).map { "w\($0)" }.joined(separator: " ")
            _ = try await server.send(sessionID, words)
            try await waitForIdle(server, sessionID)
            let total = try await lastSequence(server, sessionID)
            #expect(total > 600)

            let first = try await server.request(.get, "/v1/sessions/\(sessionID)/events")
            let firstData = first.json["data"]?.arrayValue ?? []
            #expect(firstData.count == 500, "default page size")
            #expect(first.json["has_more"] == true)
            #expect(first.json["next_after_sequence"]?.intValue == 500)

            var sequences = firstData.compactMap { $0["sequence"]?.intValue }
            var cursor = first.json["next_after_sequence"]?.intValue
            while let after = cursor {
                let page = try await server.request(.get, "/v1/sessions/\(sessionID)/events?after_sequence=\(after)&limit=70")
                #expect(page.status == 200)
                let data = page.json["data"]?.arrayValue ?? []
                #expect(data.count <= 70)
                sequences += data.compactMap { $0["sequence"]?.intValue }
                cursor = page.json["has_more"] == true ? page.json["next_after_sequence"]?.intValue : nil
                #expect(page.json["has_more"] == true || page.json["next_after_sequence"] == nil)
            }
            #expect(sequences == Array(1...total), "every event exactly once, in order")

            let latest = try await server.request(.get, "/v1/sessions/\(sessionID)/events?limit=3")
            #expect(latest.json["data"]?.arrayValue?.compactMap { $0["sequence"]?.intValue } == [total - 2, total - 1, total])
            let tooMany = try await server.request(.get, "/v1/sessions/\(sessionID)/events?limit=1001")
            #expect(tooMany.status == 400)
            #expect(try await server.request(.get, "/v1/sessions/\(sessionID)/messages?limit=0").status == 400)
        }
    }

    @Test("message pages cover every message once and keep tool results after their call")
    func messagePages() async throws {
        try await TestServer.run { server in
            let sessionID = try await server.createSession(["capabilities": [["ref": "test_math"]]])
            _ = try await server.send(sessionID, "hello")
            try await server.waitForIdle(sessionID)
            _ = try await server.send(sessionID, #"[[tool:add {"a":1,"b":2}]] [[tool:add {"a":3,"b":4}]]"#)
            try await server.waitForIdle(sessionID, turns: 2)
            _ = try await server.send(sessionID, "bye")
            try await server.waitForIdle(sessionID, turns: 3)

            let whole = try await server.request(.get, "/v1/sessions/\(sessionID)/messages")
            #expect(whole.json["has_more"] == false)
            let expected = whole.json["data"]?.arrayValue?.compactMap { $0["id"]?.stringValue } ?? []
            #expect(expected.count == 9, "user, agent, user, agent+calls, 2 tool results, agent, user, agent")

            for limit in 1...7 {
                var ids: [String] = []
                var cursor: Int? = 0
                var pages = 0
                while let after = cursor, pages < 20 {
                    pages += 1
                    let page = try await server.request(.get, "/v1/sessions/\(sessionID)/messages?after_sequence=\(after)&limit=\(limit)")
                    let data = page.json["data"]?.arrayValue ?? []
                    #expect(data.count <= limit)
                    ids += data.compactMap { $0["id"]?.stringValue }
                    cursor = page.json["has_more"] == true ? page.json["next_after_sequence"]?.intValue : nil
                }
                #expect(ids.count == expected.count && Set(ids) == Set(expected), "limit \(limit): each message once")
                if limit >= 3 {
                    // The call and its two results fit in a page, so the page ends before the
                    // call rather than between it and its results: the order is the whole list's.
                    #expect(ids == expected, "limit \(limit)")
                }
            }
        }
    }

    private func lastSequence(_ server: TestServer, _ sessionID: String) async throws -> Int {
        let reply = try await server.request(.get, "/v1/sessions/\(sessionID)/events?limit=1")
        return reply.json["data"]?.arrayValue?.first?["sequence"]?.intValue ?? 0
    }

    /// `waitForIdle` reads `/events`, whose first page no longer reaches the end of a long log.
    private func waitForIdle(_ server: TestServer, _ sessionID: String) async throws {
        let deadline = ContinuousClock.now + .seconds(20)
        while ContinuousClock.now < deadline {
            let reply = try await server.request(.get, "/v1/sessions/\(sessionID)/events?types=session.idled&limit=1")
            if reply.json["data"]?.arrayValue?.isEmpty == false { return }
            try await Task.sleep(for: .milliseconds(20))
        }
        Issue.record("session \(sessionID) did not become idle")
    }
}
