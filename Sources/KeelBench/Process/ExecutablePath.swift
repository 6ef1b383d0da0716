import Foundation

/// This program's own executable, to start `keel-bench mock-openai` as a separate process: the
/// target of `/proc/self/exe` on Linux, else `CommandLine.arguments[0]` made absolute.
public enum ExecutablePath {
    public static func current() -> String {
        if let resolved = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe") {
            return resolved
        }
        let first = CommandLine.arguments.first ?? "keel-bench"
        if first.hasPrefix("/") { return first }
        return FileManager.default.currentDirectoryPath + "/" + first
    }
}
