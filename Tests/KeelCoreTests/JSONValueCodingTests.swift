import Foundation
import Testing

@testable import KeelCore

/// `JSONValue.encoding` / `decode` build and read trees directly; they must agree with the
/// wire coders (`KeelJSON.encoder` / `decoder`) that the golden tests pin.
@Suite("JSONValue direct coding")
struct JSONValueCodingTests {
    struct Sample: Codable, Hashable {
        var text: String
        var count: Int
        var ratio: Double
        var small: Float
        var flag: Bool
        var when: Date
        var tags: [String]
        var nested: [String: [Int]]
        var optional: String?
        @ExplicitNull var explicit: String?
        var json: JSONValue
        var maybeJSON: JSONValue?
    }

    static let sample = Sample(
        text: "naïve ✓ \"quoted\"", count: -42, ratio: 0.1, small: 0.1, flag: true,
        when: Date(timeIntervalSince1970: 1_764_000_000.25), tags: ["a", "b"], nested: ["x": [1, 2], "y": []],
        optional: nil, explicit: nil, json: ["k": [1, "two", nil, false]], maybeJSON: nil)

    /// The tree Foundation's coders give: text through KeelJSON.encoder, parsed back.
    func viaText<T: Encodable>(_ value: T) throws -> JSONValue {
        let data = try KeelJSON.encoder.encode(value)
        return try JSONDecoder().decode(JSONValue.self, from: data)
    }

    @Test("encoding gives the tree the wire encoder's text parses to, for a sample and every event payload")
    func encodingMatchesWireText() throws {
        #expect(JSONValue.encoding(Self.sample) == (try viaText(Self.sample)))
        #expect(JSONValue.encoding(Self.sample)["small"] == 0.1)
        #expect(JSONValue.encoding(Self.sample)["explicit"] == .null)
        #expect(JSONValue.encoding(Self.sample)["optional"] == nil)
        let message = Message(role: .agent, content: [.text("hi"), .toolCall(ToolCall(id: "c", name: "n", arguments: ["a": 1]))])
        let payloads: [any EventPayload] = [
            OutputMessageCompletedPayload(message: message, model: "m", usage: Usage(inputTokens: 3), errorCode: "x"),
            SessionStartedPayload(agentID: nil, modelID: "m"),
            ToolCompletedPayload(
                toolCallID: "c", toolName: "n", success: false, status: "error", durationMS: 5, result: nil, error: "e"),
        ]
        for payload in payloads {
            #expect(JSONValue.encoding(payload) == (try viaText(payload)), "\(type(of: payload))")
        }
    }

    @Test("decode reads what the wire decoder reads, dates included; a wrong type is a DecodingError")
    func decodingMatchesWireDecoder() throws {
        let tree = JSONValue.encoding(Self.sample)
        let direct = try tree.decode(Sample.self)
        let viaWire = try KeelJSON.decoder.decode(Sample.self, from: KeelJSON.encoder.encode(tree))
        #expect(direct == viaWire)
        #expect(direct == Self.sample)
        #expect(throws: DecodingError.self) { try JSONValue.object(["count": "7"]).decode([String: Int].self) }
        #expect(throws: DecodingError.self) { try JSONValue.number(2.5).decode(Int.self) }
        #expect(throws: DecodingError.self) { try JSONValue.number(300).decode(UInt8.self) }
        #expect(throws: DecodingError.self) { try JSONValue.string("yesterday").decode(Date.self) }
        #expect(try JSONValue.null.decode(String?.self) == nil)
        #expect(try JSONValue.null.decode(JSONValue.self) == .null)
    }

    @Test("a non-finite number cannot be JSON: encoding gives null, as before")
    func nonFinite() {
        #expect(JSONValue.encoding(["x": Double.nan]) == .null)
        #expect(JSONValue.encoding([Double.infinity]) == .null)
    }
}
