import Foundation

/// The JSON coding conventions of the wire format: RFC 3339 timestamps with milliseconds in UTC.
public enum KeelJSON {
    private static let timestampStyle = Date.ISO8601FormatStyle(includingFractionalSeconds: true, timeZone: .gmt)

    public static func timestamp(_ date: Date) -> String {
        date.formatted(timestampStyle)
    }

    public static func parseTimestamp(_ text: String) -> Date? {
        if let date = try? timestampStyle.parse(text) { return date }
        return try? Date.ISO8601FormatStyle().parse(text)
    }

    public static var encoder: JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.withoutEscapingSlashes]
        encoder.dateEncodingStrategy = .custom { date, encoder in
            var container = encoder.singleValueContainer()
            try container.encode(timestamp(date))
        }
        return encoder
    }

    public static var decoder: JSONDecoder {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .custom { decoder in
            let container = try decoder.singleValueContainer()
            let text = try container.decode(String.self)
            guard let date = parseTimestamp(text) else {
                throw DecodingError.dataCorruptedError(in: container, debugDescription: "expected an RFC 3339 timestamp")
            }
            return date
        }
        return decoder
    }
}
