import Foundation
import KeelCore
import Testing

@Suite("Message metadata validation")
struct RunMetadataTests {
    static func body(_ metadata: JSONValue) -> JSONValue {
        ["message": ["role": "user", "content": [["type": "text", "text": "hi"]]], "metadata": metadata]
    }

    @Test("each metadata rule answers 422 naming the offending key, and nothing is stored")
    func rules() async throws {
        try await TestServer.run { server in
            let sessionID = try await server.createSession()
            var tooMany: [String: JSONValue] = [:]
            for index in 0..<33 { tooMany["k\(index)"] = .init(index) }
            let cases: [(JSONValue, String)] = [
                (.object(tooMany), "at most 32"),
                (["has.dot": "x"], "has.dot"),
                (["has space": "x"], "has space"),
                (["ünicode": "x"], "ünicode"),
                ([String(repeating: "k", count: 65): "x"], String(repeating: "k", count: 65)),
                (["nested": ["a": 1]], "nested"),
                (["list": [1, 2]], "list"),
                (["nothing": nil], "nothing"),
                (["long": .string(String(repeating: "x", count: 513))], "long"),
                ("not-an-object", "object"),
            ]
            for (metadata, mention) in cases {
                let reply = try await server.request(.post, "/v1/sessions/\(sessionID)/messages", json: Self.body(metadata))
                #expect(reply.status == 422, "\(metadata.jsonString.prefix(80)) → \(reply.text)")
                #expect(reply.json["error"]?["code"] == "invalid_metadata")
                #expect(reply.json["error"]?["message"]?.stringValue?.contains(mention) == true, "\(reply.text)")
            }
            #expect(try await server.events(sessionID).types == ["session.started"])

            let accepted = try await server.request(
                .post, "/v1/sessions/\(sessionID)/messages",
                json: Self.body(["tenant": "acme", "feature_flag": true, "sub-agent_2": 3.5,
                                 String(repeating: "k", count: 64): .string(String(repeating: "x", count: 512))]))
            #expect(accepted.status == 201, "\(accepted.text)")
            let stored = try await server.events(sessionID).first { $0["type"]?.stringValue == "input.message" }
            #expect(stored?["data"]?["message"]?["metadata"]?["tenant"] == "acme")
        }
    }
}
