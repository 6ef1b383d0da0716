import Foundation
import KeelCore
import Testing

/// Issue 8, items 6 and 13: JSON nesting is capped at input (a value nested near Foundation's
/// 512-level limit was stored and then broke every read of its session), and every request field
/// has a documented maximum.
@Suite("Input limits")
struct InputLimitTests {
    /// `{"a":{"a":…1…}}` with `depth` objects.
    static func nestedObject(_ depth: Int) -> String {
        String(repeating: #"{"a":"#, count: depth) + "1" + String(repeating: "}", count: depth)
    }

    static func messageBody(controls: String) -> String {
        #"{"message":{"role":"user","content":[{"type":"text","text":"hi"}]},"controls":"# + controls + "}"
    }

    static func textMessage(_ text: String) -> JSONValue {
        ["message": ["role": "user", "content": [["type": "text", "text": .string(text)]]]]
    }

    @Test("controls nested 65 levels deep: 400 naming the limit, nothing stored")
    func controlsOneLevelTooDeep() async throws {
        try await TestServer.run { server in
            let sessionID = try await server.createSession()
            let reply = try await server.request(
                .post, "/v1/sessions/\(sessionID)/messages", raw: Self.messageBody(controls: Self.nestedObject(65)))
            #expect(reply.status == 400, "\(reply.text)")
            #expect(reply.json["error"]?["code"] == "nesting_too_deep")
            #expect(reply.json["error"]?["message"]?.stringValue?.contains("64 levels") == true, "\(reply.text)")
            #expect(try await server.events(sessionID).types == ["session.started"])
        }
    }

    @Test("controls nested 508 levels deep (stored before, then every read answered 500): 400")
    func controlsNearDecoderLimit() async throws {
        try await TestServer.run { server in
            let sessionID = try await server.createSession()
            for depth in [508, 510] {
                let reply = try await server.request(
                    .post, "/v1/sessions/\(sessionID)/messages", raw: Self.messageBody(controls: Self.nestedObject(depth)))
                #expect(reply.status == 400, "depth \(depth): \(reply.text)")
            }
            #expect(try await server.request(.get, "/v1/sessions/\(sessionID)/events").status == 200)
            #expect(try await server.request(.get, "/v1/sessions/\(sessionID)/messages").status == 200)
            #expect(try await server.events(sessionID).types == ["session.started"])
        }
    }

    @Test("controls nested exactly 64 levels deep are stored and read back")
    func controlsAtTheLimit() async throws {
        try await TestServer.run { server in
            let sessionID = try await server.createSession()
            let reply = try await server.request(
                .post, "/v1/sessions/\(sessionID)/messages", raw: Self.messageBody(controls: Self.nestedObject(64)))
            #expect(reply.status == 201, "\(reply.text)")
            try await server.waitForIdle(sessionID)
            let events = try await server.request(.get, "/v1/sessions/\(sessionID)/events")
            #expect(events.status == 200)
            let input = events.json["data"]?.arrayValue?.first { $0["type"] == "input.message" }
            #expect(input?["data"]?["message"]?["controls"]?.nestingDepth(stoppingAbove: 100) == 64)
            let messages = try await server.request(.get, "/v1/sessions/\(sessionID)/messages")
            #expect(messages.status == 200)
            #expect(messages.json["data"]?.arrayValue?.first?["controls"]?.nestingDepth(stoppingAbove: 100) == 64)
        }
    }

    @Test("tool-call arguments nested 505 deep from the model: a tool error, and the session stays readable")
    func deepToolArguments() async throws {
        try await TestServer.run { server in
            let sessionID = try await server.createSession(["capabilities": [["ref": "test_math"]]])
            let reply = try await server.request(
                .post, "/v1/sessions/\(sessionID)/messages",
                json: Self.textMessage("[[tool:add \(Self.nestedObject(505))]]"))
            #expect(reply.status == 201, "\(reply.text)")
            try await server.waitForIdle(sessionID)
            let events = try await server.request(.get, "/v1/sessions/\(sessionID)/events")
            #expect(events.status == 200, "\(events.text.prefix(300))")
            #expect(try await server.request(.get, "/v1/sessions/\(sessionID)/messages").status == 200)
            let completed = events.json["data"]?.arrayValue?.first { $0["type"] == "tool.completed" }
            #expect(completed?["data"]?["success"] == false)
            #expect(completed?["data"]?["error"]?.stringValue?.contains("64 levels") == true, "\(String(describing: completed))")
        }
    }

    @Test("a 1.5 MB locale: 400 naming the field; a BCP 47 tag is accepted")
    func locale() async throws {
        try await TestServer.run { server in
            let huge = String(repeating: "x", count: 1_500_000)
            let created = try await server.request(.post, "/v1/sessions", json: ["locale": .string(huge)])
            #expect(created.status == 400, "\(created.text.prefix(200))")
            #expect(created.json["error"]?["code"] == "input_too_large")
            #expect(created.json["error"]?["message"]?.stringValue?.contains("locale") == true)

            let sessionID = try await server.createSession(["locale": "zh-Hant-TW"])
            let patched = try await server.request(
                .patch, "/v1/sessions/\(sessionID)", json: ["locale": .string(String(repeating: "a", count: 36))])
            #expect(patched.status == 400, "\(patched.text)")
            #expect(patched.json["error"]?["message"]?.stringValue?.contains("locale exceeds 35") == true, "\(patched.text)")
            let session = try await server.request(.get, "/v1/sessions/\(sessionID)")
            #expect(session.json["locale"] == "zh-Hant-TW")
        }
    }

    @Test("counts and sizes of agent and message fields: 400 naming the field")
    func representativeFields() async throws {
        try await TestServer.run { server in
            let tool: JSONValue = ["name": "t", "description": "d", "parameters": ["type": "object"]]
            let tooManyTools = try await server.request(
                .post, "/v1/agents",
                json: ["name": "a", "system_prompt": "p", "tools": .array(Array(repeating: tool, count: 129))])
            #expect(tooManyTools.status == 400, "\(tooManyTools.text)")
            #expect(tooManyTools.json["error"]?["message"]?.stringValue?.hasPrefix("tools has 129 items") == true)

            let longModel = try await server.request(
                .post, "/v1/agents",
                json: ["name": "b", "system_prompt": "p", "default_model_id": .string(String(repeating: "m", count: 201))])
            #expect(longModel.json["error"]?["message"]?.stringValue?.contains("default_model_id exceeds 200") == true)

            let sessionID = try await server.createSession()
            let parts = JSONValue.array(Array(repeating: ["type": "text", "text": "x"], count: 101))
            let tooManyParts = try await server.request(
                .post, "/v1/sessions/\(sessionID)/messages", json: ["message": ["role": "user", "content": parts]])
            #expect(tooManyParts.status == 400, "\(tooManyParts.text)")
            #expect(tooManyParts.json["error"]?["message"]?.stringValue?.contains("message.content") == true)

            let bigControls = try await server.request(
                .post, "/v1/sessions/\(sessionID)/messages",
                json: ["message": ["content": [["type": "text", "text": "x"]]],
                       "controls": ["note": .string(String(repeating: "c", count: 70_000))]])
            #expect(bigControls.json["error"]?["message"]?.stringValue?.contains("controls exceeds") == true)
            #expect(try await server.events(sessionID).types == ["session.started"])
        }
    }
}

@Suite("JSON nesting depth")
struct JSONNestingTests {
    @Test("brackets inside strings, escaped quotes included, do not count")
    func scanner() {
        #expect(JSONNesting.depth(of: #"{"a":"[[[{{{"}"#) == 1)
        #expect(JSONNesting.depth(of: #"{"a":"\"[[[","b":[[1]]}"#) == 3)
        #expect(JSONNesting.depth(of: #"["\\",[[]]]"#) == 3)
        #expect(JSONNesting.depth(of: "42") == 0)
        #expect(JSONNesting.depth(of: String(repeating: "[", count: 10_000), stoppingAbove: 64) == 65)
    }

    @Test("a decoded value's depth, bounded walk")
    func value() {
        let deep = JSONValue.parse(InputLimitTests.nestedObject(70)) ?? .null
        #expect(deep.nestingDepth(stoppingAbove: 100) == 70)
        #expect(deep.nestingDepth(stoppingAbove: 64) > 64)
        #expect(deep.isTooDeep)
        #expect(!(JSONValue.parse(InputLimitTests.nestedObject(64)) ?? .null).isTooDeep)
        #expect(JSONValue.string("x").nestingDepth() == 0)
        #expect(JSONValue.array([]).nestingDepth() == 1)
    }
}
