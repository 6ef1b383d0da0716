import Foundation
import Testing

@testable import KeelCore

/// The hand-written JSON, timestamp and id writers against Foundation's: same text, same values.
@Suite("JSON text, timestamps and ids")
struct JSONTextTests {
    static let awkward: JSONValue = [
        "quote\"back\\slash/": "line\nfeed\ttab\r\u{08}\u{0C}\u{01}\u{1F} ünïcödé 🚀 </script>",
        "numbers": [0, -1, 42, 1.5, -0.25, 1e-7, 123_456_789_012, 9.1e15, 3.0e300],
        "nested": ["a": [true, false, nil], "b": [:], "c": []],
        "empty": "",
    ]

    @Test("JSONText writes what KeelJSON.encoder writes: equal text with sorted keys, the same value either way")
    func matchesFoundation() throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let foundation = String(decoding: try encoder.encode(Self.awkward), as: UTF8.self)
        #expect(Self.awkward.jsonString == foundation, "byte for byte, escapes included")
        let reparsed = try JSONDecoder().decode(JSONValue.self, from: Data(Self.awkward.jsonBytes))
        #expect(reparsed == Self.awkward)
        #expect(JSONValue.number(.infinity).jsonString == "null")
        #expect(JSONValue.number(2).jsonString == "2" && JSONValue.number(2.5).jsonString == "2.5")
    }

    @Test("an event's JSON decodes back to the same event, fields in the Codable order")
    func eventRoundTrip() throws {
        var context = EventContext(turnID: "turn_1", inputMessageID: "message_1")
        context.traceID = "abc"
        let event = Event(
            type: .turnStarted, ts: Date(timeIntervalSince1970: 1_765_000_000.125), sessionID: "session_1", sequence: 7,
            context: context, data: Self.awkward, metadata: ["k": "v"], tags: ["x", "y\"z"])
        let text = String(decoding: event.jsonBytes, as: UTF8.self)
        #expect(text.hasPrefix("{\"id\":\"\(event.id)\",\"type\":\"turn.started\",\"ts\":\"2025-12-06T05:46:40.125Z\",\"session_id\":\"session_1\",\"sequence\":7,\"context\":{\"turn_id\":\"turn_1\",\"input_message_id\":\"message_1\",\"trace_id\":\"abc\"},\"data\":"))
        let decoded = try KeelJSON.decoder.decode(Event.self, from: Data(event.jsonBytes))
        #expect(decoded == event)
        let bare = Event(type: .sessionIdled, sessionID: "s", sequence: 1, context: EventContext(), data: [:])
        let bareText = String(decoding: bare.jsonBytes, as: UTF8.self)
        #expect(bareText.hasSuffix("\"context\":{},\"data\":{}}"), "no metadata or tags keys when absent: \(bareText)")
    }

    @Test("timestamps match Foundation's ISO 8601 formatter (whole seconds, then the rounded milliseconds) from 1583 to 9999")
    func timestamps() {
        // Foundation's calendar is Julian before the 1582 reform; ISO 8601 (and this writer) is
        // proleptic Gregorian, so the comparison starts in 1583.
        let style = Date.ISO8601FormatStyle(timeZone: .gmt)
        func reference(_ date: Date) -> String {
            let milliseconds = Int64((date.timeIntervalSince1970 * 1000).rounded())
            let (seconds, fraction) = milliseconds.quotientAndRemainder(dividingBy: 1000)
            let (whole, millis) = fraction < 0 ? (seconds - 1, fraction + 1000) : (seconds, fraction)
            let text = Date(timeIntervalSince1970: Double(whole)).formatted(style)
            return String(text.dropLast()) + "." + String(String(millis).reversed()).padding(toLength: 3, withPad: "0", startingAt: 0).reversed() + "Z"
        }
        var generator = SystemRandomNumberGenerator()
        var dates = [0, -1, -0.0005, 951_782_400, 951_868_799.999, 4_107_542_399.999, 253_402_300_799.999, 1_709_164_800.5]
            .map { Date(timeIntervalSince1970: $0) }
        for _ in 0..<2_000 {
            dates.append(Date(timeIntervalSince1970: Double(Int64.random(in: -12_212_553_600_000...253_402_300_799_999, using: &generator)) / 1000))
        }
        for date in dates {
            #expect(KeelJSON.timestamp(date) == reference(date), "\(date.timeIntervalSince1970)")
        }
        #expect(KeelJSON.timestamp(Date(timeIntervalSince1970: 1_765_000_000.9996)) == "2025-12-06T05:46:41.000Z")
        #expect(KeelJSON.timestamp(Date(timeIntervalSince1970: -62_135_596_800)) == "0001-01-01T00:00:00.000Z", "proleptic Gregorian")
        #expect(KeelJSON.timestamp(Date(timeIntervalSince1970: 951_825_600)) == "2000-02-29T12:00:00.000Z")
    }

    @Test("ids are UUIDv7: version 7, RFC 4122 variant, the time first, random after")
    func ids() {
        let now = Date()
        var seen = Set<String>()
        for _ in 0..<1_000 {
            let id = PublicID.make(.event, now: now)
            #expect(PublicID.isValid(id, prefix: .event))
            let hex = Array(id.dropFirst("event_".count))
            #expect(hex[12] == "7")
            #expect("89ab".contains(hex[16]))
            #expect(String(hex[0..<12]) == String(UInt64(now.timeIntervalSince1970 * 1000), radix: 16).leftPadded(to: 12))
            seen.insert(id)
        }
        #expect(seen.count == 1_000)
    }
}

extension String {
    fileprivate func leftPadded(to width: Int) -> String {
        String(repeating: "0", count: max(0, width - count)) + self
    }
}

/// The JSON parser against Foundation's decoder: the same values, the same refusals.
@Suite("JSON text parser")
struct JSONTextParserTests {
    @Test("parses what JSONDecoder parses to the same value, and round-trips JSONText's output")
    func agreesWithFoundation() throws {
        let texts = [
            #"{"a":[1,2.5,-0.25,1e-7,1E+3,12345678901234567890],"b":{"c":null,"d":true,"e":false},"s":"x\"\\\/\b\f\n\r\t\u00e9\ud83d\ude80"}"#,
            " [ ] ", "{}", "\"\"", "0", "-0", "[[[[]]]]", #"{"k":"ünïcödé 🚀 </script>"}"#,
        ]
        for text in texts {
            let foundation = try JSONDecoder().decode(JSONValue.self, from: Data(text.utf8))
            #expect(try JSONTextParser.parse(text) == foundation, "\(text)")
        }
        #expect(try JSONTextParser.parse(JSONTextTests.awkward.jsonString) == JSONTextTests.awkward)
        #expect(try JSONTextParser.parse(#""\ud800x""#) == .string("\u{FFFD}x"), "a lone surrogate")
    }

    @Test("refuses what is not JSON: trailing text or commas, leading zeros, bare control characters, bad escapes, bad UTF-8, too deep")
    func refusals() {
        for text in ["", "[1,]", "{\"a\":1,}", "01", "1.", "-", "[1] x", "\"a\nb\"", #""\x""#, #""\u12g4""#, "tru", "nul", "{a:1}", "[", "\"abc"] {
            #expect(throws: JSONTextParser.Failure.self, "\(text)") { _ = try JSONTextParser.parse(text) }
        }
        let invalidUTF8: [UInt8] = [0x22, 0xFF, 0x22]
        #expect(throws: JSONTextParser.Failure.self) {
            _ = try invalidUTF8.withUnsafeBufferPointer { bytes in try JSONTextParser.parse(bytes) }
        }
        let deep = String(repeating: "[", count: 600) + String(repeating: "]", count: 600)
        #expect(throws: JSONTextParser.Failure.self, "deeper than 512 is refused, not recursed") { _ = try JSONTextParser.parse(deep) }
        let ok = String(repeating: "[", count: 512) + String(repeating: "]", count: 512)
        #expect((try? JSONTextParser.parse(ok)) != nil)
    }

    @Test("an event context reads back from its JSON; anything but an object of strings is refused")
    func context() {
        var context = EventContext(turnID: "t", inputMessageID: "m")
        context.parentSpanID = "p"
        var text = JSONText()
        context.write(to: &text)
        #expect(EventContext(json: (try? JSONTextParser.parse(text.string)) ?? .null) == context)
        #expect(EventContext(json: ["turn_id": 1]) == nil)
        #expect(EventContext(json: "x") == nil)
        #expect(EventContext(json: ["unknown": "ignored"]) == EventContext())
    }
}
