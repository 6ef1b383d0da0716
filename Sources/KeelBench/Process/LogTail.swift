import Foundation

/// The last lines of a child's log file, printed when the child died or misbehaved.
public enum LogTail {
    public static func lines(_ count: Int, of path: String) -> String {
        guard let data = FileManager.default.contents(atPath: path) else { return "(cannot read \(path))" }
        let lines = String(decoding: data, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false)
        let tail = lines.suffix(count + 1).joined(separator: "\n").trimmingCharacters(in: .newlines)
        return tail.isEmpty ? "(empty)" : tail
    }
}
