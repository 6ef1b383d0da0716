import Foundation
import Testing

@testable import KeelCore

@Suite("JSONValue")
struct JSONValueTests {
    static let sample: JSONValue = [
        "null": nil, "yes": true, "no": false, "int": 42, "negative": -7, "fraction": 1.5,
        "string": "héllo \"quoted\" / slash", "empty_array": [], "empty_object": [:],
        "nested": ["list": [1, "two", [3.25], ["four": nil]]],
    ]

    @Test("encode → decode is the identity")
    func roundTrip() throws {
        let data = try JSONEncoder().encode(Self.sample)
        #expect(try JSONDecoder().decode(JSONValue.self, from: data) == Self.sample)
        #expect(JSONValue.parse(Self.sample.jsonString) == Self.sample)
        // Also through the wire encoder.
        #expect(try KeelJSON.decoder.decode(JSONValue.self, from: KeelJSON.encoder.encode(Self.sample)) == Self.sample)
    }

    @Test("jsonString is compact with sorted keys and integral numbers without a fraction")
    func jsonString() {
        let value: JSONValue = ["b": 1, "a": [true, nil, "x/y", 2.5, -3]]
        #expect(value.jsonString == #"{"a":[true,null,"x/y",2.5,-3],"b":1}"#)
    }

    @Test("booleans and numbers stay distinct when decoding")
    func boolVersusNumber() {
        #expect(JSONValue.parse("true") == .bool(true))
        #expect(JSONValue.parse("1") == .number(1))
        #expect(JSONValue.parse("0") == .number(0))
        #expect(JSONValue.parse("[1,true,0,false]") == [1, true, 0, false])
    }

    @Test("parse rejects text that is not JSON")
    func parseRejectsGarbage() {
        #expect(JSONValue.parse("{not json") == nil)
        #expect(JSONValue.parse("") == nil)
    }

    @Test("accessors return values only for the matching case")
    func accessors() {
        let value: JSONValue = ["n": 3, "f": 2.5, "s": "x", "b": false, "o": ["k": "v"], "a": [1]]
        #expect(value["n"]?.intValue == 3)
        #expect(value["f"]?.intValue == nil)
        #expect(value["f"]?.doubleValue == 2.5)
        #expect(value["s"]?.stringValue == "x")
        #expect(value["s"]?.intValue == nil)
        #expect(value["b"]?.boolValue == false)
        #expect(value["o"]?["k"]?.stringValue == "v")
        #expect(value["a"]?.arrayValue == [1])
        #expect(value["missing"] == nil)
        #expect(JSONValue.string("x")["k"] == nil)
        #expect(JSONValue(nil as String?) == .null)
    }

    @Test("encoding and decoding Codable values through JSONValue")
    func codableBridge() throws {
        let usage = Usage(inputTokens: 1, outputTokens: 2, cacheReadTokens: 3, cacheCreationTokens: 4)
        #expect(usage.json == ["input_tokens": 1, "output_tokens": 2, "cache_read_tokens": 3, "cache_creation_tokens": 4])
        #expect(try usage.json.decode(Usage.self) == usage)
        let message = Message(role: .agent, content: [.text("hi"), .toolCall(toolCall("c", "t", ["x": 1]))])
        #expect(try JSONValue.encoding(message).decode(Message.self).content == message.content)
    }
}

@Suite("PublicID")
struct PublicIDTests {
    @Test("make gives prefix_ followed by 32 lowercase hex digits", arguments: IDPrefix.allCases)
    func shape(prefix: IDPrefix) {
        let id = PublicID.make(prefix)
        #expect(id.hasPrefix(prefix.rawValue + "_"))
        let hex = id.dropFirst(prefix.rawValue.count + 1)
        #expect(hex.count == 32)
        #expect(hex.allSatisfy { "0123456789abcdef".contains($0) })
        #expect(PublicID.isValid(id, prefix: prefix))
    }

    @Test("ids are UUIDv7: version 7 and RFC 4122 variant")
    func uuidV7Layout() {
        let hex = Array(PublicID.make(.event).dropFirst("event_".count))
        #expect(hex[12] == "7")
        #expect("89ab".contains(hex[16]))
    }

    @Test("isValid rejects wrong prefixes, lengths and characters")
    func rejects() {
        let good = "session_0123456789abcdef0123456789abcdef"
        #expect(PublicID.isValid(good, prefix: .session))
        #expect(!PublicID.isValid(good, prefix: .agent))
        #expect(!PublicID.isValid("session_0123456789ABCDEF0123456789abcdef", prefix: .session))
        #expect(!PublicID.isValid("session_0123456789abcdef0123456789abcde", prefix: .session))
        #expect(!PublicID.isValid("session_0123456789abcdef0123456789abcdef0", prefix: .session))
        #expect(!PublicID.isValid("session_0123456789abcdef0123456789abcdeg", prefix: .session))
        #expect(!PublicID.isValid("session-0123456789abcdef0123456789abcdef", prefix: .session))
        #expect(!PublicID.isValid("0123456789abcdef0123456789abcdef", prefix: .session))
        #expect(!PublicID.isValid("session_", prefix: .session))
        #expect(!PublicID.isValid("", prefix: .session))
        #expect(!PublicID.isValid("session_0123456789abcdef0123456789abcdé", prefix: .session))
    }

    @Test("ids are unique")
    func unique() {
        let ids = (0..<2_000).map { _ in PublicID.make(.message) }
        #expect(Set(ids).count == ids.count)
    }

    @Test("ids made a few milliseconds apart on the real clock sort in creation order")
    func realClockOrder() async throws {
        var ids: [String] = []
        for _ in 0..<5 {
            ids.append(PublicID.make(.message))
            try await Task.sleep(for: .milliseconds(3))
        }
        #expect(ids == ids.sorted())
    }

    @Test("ids sort by creation time")
    func sortByTime() {
        let base = Date(timeIntervalSince1970: 1_700_000_000)
        // Steps of 5 ms: the timestamp has millisecond resolution (and Date arithmetic in Double
        // can land a hair below a millisecond boundary), so ids within one millisecond are unordered.
        let ids = (0..<50).map { PublicID.make(.event, now: base.addingTimeInterval(Double($0) * 0.005)) }
        #expect(ids == ids.sorted())
        let earlier = PublicID.make(.turn, now: Date(timeIntervalSince1970: 1_000))
        let later = PublicID.make(.turn, now: Date(timeIntervalSince1970: 2_000))
        #expect(earlier < later)
        #expect(PublicID.make(.turn) > later)
        // The first 12 hex digits are the millisecond timestamp.
        let hex = PublicID.make(.turn, now: base).dropFirst("turn_".count).prefix(12)
        #expect(UInt64(hex, radix: 16) == 1_700_000_000_000)
    }
}

@Suite("ContentPart and Message coding")
struct ContentPartTests {
    func decode(_ json: String) throws -> ContentPart {
        try KeelJSON.decoder.decode(ContentPart.self, from: Data(json.utf8))
    }

    @Test("an unknown part type is rejected with a message naming the allowed types")
    func unknownType() throws {
        do {
            _ = try decode(#"{"type":"video","url":"https://example.com/v.mp4"}"#)
            Issue.record("decoding an unknown part type succeeded")
        } catch let DecodingError.dataCorrupted(context) {
            #expect(context.debugDescription.contains("'video'"))
            for type in ["text", "image", "image_file", "tool_call", "tool_result"] {
                #expect(context.debugDescription.contains(type))
            }
        }
    }

    @Test("an image part needs a url or base64 data")
    func imageNeedsSource() throws {
        #expect(throws: DecodingError.self) { try decode(#"{"type":"image","media_type":"image/png"}"#) }
        #expect(try decode(#"{"type":"image","url":"https://x/y.png"}"#) == .image(url: "https://x/y.png", base64: nil, mediaType: nil))
    }

    @Test("a part without a type is rejected")
    func missingType() {
        #expect(throws: DecodingError.self) { try decode(#"{"text":"hi"}"#) }
    }

    @Test("every part type round-trips with its wire fields")
    func roundTrip() throws {
        let parts: [ContentPart] = [
            .text("hi"),
            .image(url: nil, base64: "aGk=", mediaType: "image/png"),
            .imageFile(imageID: "img_1", filename: "a.png"),
            .toolCall(toolCall("call_1", "echo", ["a": [1, 2]])),
            .toolResult(toolCallID: "call_1", result: ["ok": true], error: nil),
            .toolResult(toolCallID: "call_2", result: nil, error: "boom"),
        ]
        for part in parts {
            let data = try KeelJSON.encoder.encode(part)
            #expect(try KeelJSON.decoder.decode(ContentPart.self, from: data) == part)
        }
        #expect(JSONValue.encoding(ContentPart.toolResult(toolCallID: "c", result: nil, error: "e"))
            == ["type": "tool_result", "tool_call_id": "c", "error": "e"])
        #expect(JSONValue.encoding(ContentPart.imageFile(imageID: "i", filename: nil)) == ["type": "image_file", "image_id": "i"])
        // A tool call without arguments decodes with an empty object.
        #expect(try decode(#"{"type":"tool_call","id":"c","name":"n"}"#) == .toolCall(toolCall("c", "n", [:])))
    }

    @Test("messages use the agent / tool_result roles and RFC 3339 timestamps on the wire")
    func messageWireFormat() throws {
        let message = Message(
            role: .toolResult, content: [.toolResult(toolCallID: "c", result: "r", error: nil)],
            createdAt: Date(timeIntervalSince1970: 1_700_000_000.5))
        let json = JSONValue.encoding(message)
        #expect(json["role"] == "tool_result")
        #expect(json["created_at"]?.stringValue == "2023-11-14T22:13:20.500Z")
        #expect(JSONValue.encoding(Message(role: .agent, content: []))["role"] == "agent")
        let decoded = try json.decode(Message.self)
        #expect(decoded.id == message.id)
        #expect(decoded.role == .toolResult)
        #expect(decoded.content == message.content)
        #expect(abs(decoded.createdAt.timeIntervalSince(message.createdAt)) < 0.001)
        #expect(throws: DecodingError.self) {
            try (["id": "m", "role": "assistant", "content": [], "created_at": "2023-11-14T22:13:20.123Z"] as JSONValue)
                .decode(Message.self)
        }
    }
}
