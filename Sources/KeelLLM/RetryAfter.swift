import Foundation
import NIOHTTP1

/// Reads how long a provider asked us to wait (429/503 answers).
enum RetryAfter {
    /// `retry-after-ms` (OpenAI) wins for precision; otherwise `Retry-After` as delta-seconds or
    /// an HTTP date. `nil` when absent or unreadable, so the backoff schedule applies.
    static func seconds(from headers: HTTPHeaders, now: Date = Date()) -> Double? {
        if let millis = headers.first(name: "retry-after-ms").flatMap({ Double($0.trimmingCharacters(in: .whitespaces)) }),
            millis >= 0
        {
            return millis / 1000
        }
        guard let value = headers.first(name: "retry-after")?.trimmingCharacters(in: .whitespaces) else { return nil }
        if let seconds = Double(value) { return max(0, seconds) }
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "GMT")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss zzz"
        guard let date = formatter.date(from: value) else { return nil }
        return max(0, date.timeIntervalSince(now))
    }
}
