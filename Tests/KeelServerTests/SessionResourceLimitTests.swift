import Foundation
import KeelCapabilities
import KeelCore
import KeelServer
import Testing

/// What one session may hold on to: messages queued behind a busy turn, and files that must go
/// when the session does.
@Suite("Session resources")
struct SessionResourceLimitTests {
    @Test("MAX_QUEUED_MESSAGES_PER_SESSION: one message more than may wait answers 429 and records nothing")
    func queuedMessageLimit() async throws {
        // Slow sim chunks keep the first turn running while the next messages arrive.
        try await TestServer.run(
            environment: ["MAX_QUEUED_MESSAGES_PER_SESSION": "2"],
            overrides: .init(simLatency: .milliseconds(500), deltaBatchInterval: .zero)
        ) { server in
            let sessionID = try await server.createSession()
            #expect(try await server.send(sessionID, "one two three four five six").status == 201)
            try await server.waitForEvent(sessionID, "turn.started")
            #expect(try await server.send(sessionID, "queued 1").status == 201)
            #expect(try await server.send(sessionID, "queued 2").status == 201)

            let refused = try await server.send(sessionID, "queued 3")
            #expect(refused.status == 429)
            #expect(refused.json["error"]?["code"] == "too_many_queued_messages")
            #expect(refused.text.contains("MAX_QUEUED_MESSAGES_PER_SESSION"))
            let inputs = try await server.events(sessionID, query: "?types=input.message")
            #expect(inputs.count == 3, "the refused message is not recorded")

            // Cancelling drops the queue: the session takes messages again.
            #expect(try await server.request(.post, "/v1/sessions/\(sessionID)/cancel").status == 200)
            #expect(try await server.send(sessionID, "after cancel").status == 201)
            #expect(try await server.request(.post, "/v1/sessions/\(sessionID)/cancel").status == 200)
        }
    }

    @Test("MEMORY_STORE_MAX_MB: past the cap a message answers 507 storage_full and records nothing; deleting frees it")
    func memoryStoreCap() async throws {
        try await TestServer.run(environment: ["MEMORY_STORE_MAX_MB": "1"]) { server in
            // The sim echoes each 150 KB message (one word: one chunk), and the input, the delta
            // (text and accumulated), the generation and the completed message each carry it:
            // about 750 KB a turn.
            let text = String(repeating: "x", count: 150_000)
            let full = try await server.createSession()
            var accepted = 0
            var refused: TestServer.Reply?
            while refused == nil, accepted < 20 {
                let reply = try await server.send(full, text)
                if reply.status == 201 {
                    accepted += 1
                    try await server.waitForIdle(full, turns: accepted, timeout: .seconds(20))
                } else {
                    refused = reply
                }
            }
            let reply = try #require(refused, "20 turns of 750 KB fitted in 1 MiB")
            #expect(accepted >= 1 && accepted <= 3, "\(accepted) turns before the cap")
            #expect(reply.status == 507)
            #expect(reply.json["error"]?["code"] == "storage_full")
            #expect(reply.text.contains("MEMORY_STORE_MAX_MB"))
            #expect(try await server.events(full, query: "?types=input.message").count == accepted, "nothing recorded")
            #expect(try await server.events(full, query: "?types=turn.completed").count == accepted)

            let other = try await server.createSession()
            #expect(try await server.send(other, "hi").status == 507, "the cap is the store's, not the session's")
            #expect(try await server.request(.delete, "/v1/sessions/\(full)").status == 204)
            #expect(try await server.send(other, "hi").status == 201)
            try await server.waitForIdle(other, timeout: .seconds(20))
        }
    }

    @Test("durable mode: the same queue limit, and a deleted session's files leave PostgreSQL with it")
    func durableQueueLimitAndFiles() async throws {
        try await DurableExecutionTests.withDurableServer(
            script: [DurableExecutionTests.slowReply], embedded: 1, extra: ["MAX_QUEUED_MESSAGES_PER_SESSION": "2"]
        ) { server, _, _, url in
            let busy = try await server.createSession(["model_id": "openai/gpt-4o-mini"])
            #expect(try await server.send(busy, "a long answer, please").status == 201)
            #expect(try await server.send(busy, "queued 1").status == 201)
            #expect(try await server.send(busy, "queued 2").status == 201)
            let refused = try await server.send(busy, "queued 3")
            #expect(refused.status == 429)
            #expect(refused.json["error"]?["code"] == "too_many_queued_messages")
            #expect(try await server.events(busy, query: "?types=input.message").count == 3)
            #expect(try await server.request(.post, "/v1/sessions/\(busy)/cancel").status == 200)

            let files = try await server.createSession(["model_id": "llmsim/sim", "capabilities": [["ref": "session_file_system"]]])
            _ = try await server.send(files, #"[[tool:write_file {"path":"notes.txt","content":"hello"}]]"#)
            try await server.waitForIdle(files, timeout: .seconds(20))
            let rows = "SELECT count(*) FROM session_files WHERE session_id = '\(files)'"
            #expect(try await DurableLifecycleTests.count(rows, url) > 0)
            #expect(try await server.request(.delete, "/v1/sessions/\(files)").status == 204)
            #expect(try await DurableLifecycleTests.count(rows, url) == 0)
        }
    }

    @Test("deleting a session frees its files")
    func deletionFreesFiles() async throws {
        let fileSystems = SessionFileSystems()
        try await TestServer.run(overrides: .init(deltaBatchInterval: .zero, fileSystems: fileSystems)) { server in
            let sessionID = try await server.createSession(["capabilities": [["ref": "session_file_system"]]])
            _ = try await server.send(sessionID, #"[[tool:write_file {"path":"notes.txt","content":"hello"}]]"#)
            try await server.waitForIdle(sessionID)
            #expect(try await fileSystems.fileSystem(for: sessionID).read("notes.txt") == "hello")

            #expect(try await server.request(.delete, "/v1/sessions/\(sessionID)").status == 204)
            #expect(try await fileSystems.fileSystem(for: sessionID).list(".").isEmpty, "the file tree went with the session")
        }
    }
}
