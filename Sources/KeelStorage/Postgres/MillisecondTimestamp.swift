import Foundation
import NIOCore
import PostgresNIO

/// A `timestamptz` column value at millisecond precision, exact in both directions.
///
/// PostgresNIO's own `Date` coding truncates a `Double` to microseconds, so a date read back need
/// not equal the one written. Going through whole milliseconds (the precision of KeelJSON and of
/// the JSONB documents) makes what a write returns equal what every later read returns.
struct MillisecondTimestamp: PostgresNonThrowingEncodable, PostgresDecodable, Sendable {
    let date: Date

    init(_ date: Date) {
        self.date = Self.date(milliseconds: Self.milliseconds(date))
    }

    /// Microseconds between the Unix epoch and PostgreSQL's (2000-01-01).
    private static let postgresEpochMicroseconds: Int64 = 946_684_800 * 1_000_000

    private static func milliseconds(_ date: Date) -> Int64 {
        Int64((date.timeIntervalSince1970 * 1000).rounded())
    }

    private static func date(milliseconds: Int64) -> Date {
        Date(timeIntervalSince1970: Double(milliseconds) / 1000)
    }

    static var psqlType: PostgresDataType { .timestamptz }
    static var psqlFormat: PostgresFormat { .binary }

    func encode<JSONEncoder: PostgresJSONEncoder>(
        into byteBuffer: inout ByteBuffer, context: PostgresEncodingContext<JSONEncoder>
    ) {
        byteBuffer.writeInteger(Self.milliseconds(date) * 1000 - Self.postgresEpochMicroseconds)
    }

    init<JSONDecoder: PostgresJSONDecoder>(
        from byteBuffer: inout ByteBuffer, type: PostgresDataType, format: PostgresFormat,
        context: PostgresDecodingContext<JSONDecoder>
    ) throws {
        guard type == .timestamptz || type == .timestamp, format == .binary else {
            throw PostgresDecodingError.Code.typeMismatch
        }
        guard byteBuffer.readableBytes == 8, let microseconds = byteBuffer.readInteger(as: Int64.self) else {
            throw PostgresDecodingError.Code.failure
        }
        // Rounded to the nearest millisecond (floor division, so dates before 1970 round the same way).
        let shifted = microseconds + Self.postgresEpochMicroseconds + 500
        let (quotient, remainder) = shifted.quotientAndRemainder(dividingBy: 1000)
        self.date = Self.date(milliseconds: remainder < 0 ? quotient - 1 : quotient)
    }
}
