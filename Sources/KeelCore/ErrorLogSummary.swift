import Logging

/// What a log line may say about an error: its type and a message cut to `maxMessageBytes`,
/// never a whole payload. `String(reflecting:)` of a decoding or storage error can carry the
/// entire value it failed on (megabytes of user data, a prompt, a key); the type and the start
/// of the message are what an operator needs.
public enum ErrorLogSummary {
    public static let maxMessageBytes = 500

    /// `error.type` and `error.message` metadata for a log line.
    public static func metadata(_ error: any Error) -> Logger.Metadata {
        ["error.type": .string(typeName(error)), "error.message": .string(message(error))]
    }

    /// The error's module-qualified type name, e.g. `KeelCore.StoreError`.
    public static func typeName(_ error: any Error) -> String {
        String(reflecting: type(of: error))
    }

    /// The error's description, cut at a character boundary to at most `limit` UTF-8 bytes, with
    /// the original size noted when cut.
    public static func message(_ error: any Error, limit: Int = maxMessageBytes) -> String {
        truncated(String(describing: error), limit: limit)
    }

    static func truncated(_ text: String, limit: Int) -> String {
        let total = text.utf8.count
        guard total > limit else { return text }
        var bytes = 0
        var end = text.unicodeScalars.startIndex
        for index in text.unicodeScalars.indices {
            let width = text.unicodeScalars[index].utf8.count
            if bytes + width > limit { break }
            bytes += width
            end = text.unicodeScalars.index(after: index)
        }
        return String(text.unicodeScalars[..<end]) + "… (\(total) bytes)"
    }
}
