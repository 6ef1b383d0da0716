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
