import Foundation
import KeelCore

/// The JSON columns: KeelJSON text that `jsonb` accepts, decoded back, values normalised to what a
/// later read returns.
extension PostgresStore {
    package static func encode<T: Encodable>(_ value: T) throws -> String {
        try encodeForJSONB(value).json
    }

    /// KeelJSON text that `jsonb` accepts: jsonb cannot hold U+0000, so a `\u0000` escape becomes
    /// `\ufffd` (U+FFFD) instead of failing the write. `replaced` says whether that happened.
    static func encodeForJSONB<T: Encodable>(_ value: T) throws -> (json: String, replaced: Bool) {
        jsonbText([UInt8](try KeelJSON.encoder.encode(value)))
    }

    /// A JSON value (every event's data) is written by `JSONText`, without Foundation's encoder.
    static func encodeForJSONB(_ value: JSONValue) -> (json: String, replaced: Bool) {
        jsonbText(value.jsonBytes)
    }

    static func encodeForJSONB(_ context: EventContext) -> (json: String, replaced: Bool) {
        var text = JSONText(capacity: 128)
        context.write(to: &text)
        return jsonbText(text.bytes)
    }

    private static func jsonbText(_ bytes: [UInt8]) -> (json: String, replaced: Bool) {
        let backslash = UInt8(ascii: "\\")
        guard bytes.contains(backslash) else { return (String(decoding: bytes, as: UTF8.self), false) }
        let nul = Array("u0000".utf8)
        let replacement = Array("ufffd".utf8)
        var output: [UInt8] = []
        output.reserveCapacity(bytes.count)
        var replaced = false
        var index = 0
        while index < bytes.count {
            let byte = bytes[index]
            guard byte == backslash, index + 1 < bytes.count else {
                output.append(byte)
                index += 1
                continue
            }
            // Outside strings JSON has no backslashes; inside, each one starts an escape.
            output.append(backslash)
            if index + 6 <= bytes.count, Array(bytes[(index + 1)..<(index + 6)]) == nul {
                output.append(contentsOf: replacement)
                replaced = true
                index += 6
            } else {
                output.append(bytes[index + 1])
                index += 2
            }
        }
        return (String(decoding: output, as: UTF8.self), replaced)
    }

    /// A JSON column as a value, by `JSONTextParser` (every event row has two or three).
    package static func decodeJSON(_ json: String) throws -> JSONValue {
        do {
            return try JSONTextParser.parse(json)
        } catch {
            throw PostgresStoreError.corruptRow("cannot decode JSONValue: \(error)")
        }
    }

    static func decodeContext(_ json: String) throws -> EventContext {
        guard let context = EventContext(json: try decodeJSON(json)) else {
            throw PostgresStoreError.corruptRow("cannot decode EventContext: not an object of strings")
        }
        return context
    }

    package static func decode<T: Decodable>(_ type: T.Type, _ json: String) throws -> T {
        do {
            return try KeelJSON.decoder.decode(T.self, from: Data(json.utf8))
        } catch {
            throw PostgresStoreError.corruptRow("cannot decode \(T.self): \(error)")
        }
    }

    /// The stored JSON and the value as a later read will return it (timestamps at millisecond precision).
    static func normalise<T: Codable>(_ value: T) throws -> (json: String, value: T) {
        let json = try encode(value)
        return (json, try decode(T.self, json))
    }

    static func normalise(_ date: Date) -> Date {
        KeelJSON.parseTimestamp(KeelJSON.timestamp(date)) ?? date
    }
}
