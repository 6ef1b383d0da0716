import Foundation
import KeelCore
import Testing

/// Issue 8, item 2: `grep_files` patterns come from the model (i.e. from whoever steers it), so a
/// catastrophic-backtracking pattern must neither hold a core nor freeze the server.
@Suite("Hostile grep_files calls through a turn")
struct HostileGrepTests {
    @Test("two catastrophic-backtracking grep calls in one turn finish, and /health answers meanwhile")
    func pathologicalGrepDoesNotFreezeTheServer() async throws {
        try await TestServer.run { server in
            let sessionID = try await server.createSession(["capabilities": [["ref": "session_file_system"]]])
            let content = String(repeating: "a", count: 5_000) + "!"
            _ = try await server.send(sessionID, #"[[tool:write_file {"path":"/workspace/evil.txt","content":"\#(content)"}]]"#)
            try await server.waitForIdle(sessionID)

            // Before the fix each call held a cooperative thread for (practically) ever, and two of
            // them froze every request on a 2-core host.
            let grep = #"[[tool:grep_files {"pattern":"^(a+)+$"}]]"#
            let sent = try await server.send(sessionID, "\(grep) \(grep)")
            #expect(sent.status == 201)
            let clock = ContinuousClock()
            for _ in 0..<3 {
                var status = 0
                let elapsed = try await clock.measure { status = try await server.request(.get, "/health").status }
                #expect(status == 200)
                // A frozen server would not answer at all; loose for a loaded machine.
                #expect(elapsed < .seconds(10), "/health took \(elapsed)")
            }
            let events = try await server.waitForIdle(sessionID, turns: 2)
            let greps = events.filter {
                $0["type"] == "tool.completed" && $0["data"]?["tool_name"]?.stringValue == "grep_files"
            }.compactMap { $0["data"] }
            #expect(greps.count == 2)
            for grep in greps {
                #expect(grep["status"] == "success", "\(grep)")
                #expect(grep["result"]?["matches"] == [])
                #expect(grep["result"]?["truncated"] == false)
            }
        }
    }
}
