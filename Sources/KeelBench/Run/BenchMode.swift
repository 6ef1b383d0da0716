import Foundation

/// How the server under test stores and runs turns: in memory (DEV_MODE), on PostgreSQL with
/// in-process step executors, or on PostgreSQL with `keel worker` processes doing the steps.
public enum BenchMode: String, CaseIterable, Codable, Sendable {
    case memory
    case postgresEmbedded = "postgres-embedded"
    case postgresWorkers = "postgres-workers"

    public var usesPostgres: Bool { self != .memory }
}

/// What a benchmark turn does. `sim`: the built-in deterministic model echoes the message (no
/// provider I/O). `tool`: an OpenAI-protocol provider (the mock, over real HTTP) calls the `add`
/// tool of `test_math`, which runs server-side, then answers — two model calls and one tool call.
public enum BenchScenario: String, CaseIterable, Codable, Sendable {
    case sim
    case tool

    /// The text each turn sends: `sim` echoes it; the mock answers whatever it is.
    var message: String {
        switch self {
        case .sim: "Hello from keel-bench, please echo this short message."
        case .tool: "What is 2 + 3? Use the add tool."
        }
    }
}

extension CaseIterable where Self: RawRepresentable, RawValue == String {
    /// A comma-separated list of raw values (`memory,postgres-embedded`), in the given order.
    public static func list(_ text: String) throws -> [Self] {
        try text.split(separator: ",").map { name in
            let trimmed = name.trimmingCharacters(in: .whitespaces)
            guard let value = Self(rawValue: trimmed) else {
                let known = allCases.map(\.rawValue).joined(separator: ", ")
                throw BenchError.usage("unknown \(Self.self) '\(trimmed)' (known: \(known))")
            }
            return value
        }
    }
}
