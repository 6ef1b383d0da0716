import Foundation

/// How the server under test stores and runs turns: in memory (DEV_MODE); in memory with full
/// observability on (spans to three OTLP destinations — Langfuse, Phoenix, generic — all served by
/// the mock's sink, and Prometheus `/metrics` scraped while measuring); on PostgreSQL with
/// in-process step executors; or on PostgreSQL with `keel worker` processes doing the steps.
public enum BenchMode: String, CaseIterable, Codable, Sendable {
    case memory
    case memoryTraced = "memory-traced"
    case postgresEmbedded = "postgres-embedded"
    case postgresWorkers = "postgres-workers"

    public var usesPostgres: Bool { self == .postgresEmbedded || self == .postgresWorkers }
}

/// What a benchmark turn does. `sim`: the built-in deterministic model echoes the message (no
/// provider I/O). `tool`: an OpenAI-protocol provider (the mock, over real HTTP) calls the `add`
/// tool of `test_math`, which runs server-side, then answers — two model calls and one tool call.
/// `stream`: the mock answers with time-stamped pieces paced apart, and the benchmark measures
/// each token's trip from the mock's write to the client's read of Keel's delta frame.
public enum BenchScenario: String, CaseIterable, Codable, Sendable {
    case sim
    case tool
    case stream

    /// The text each turn sends: `sim` echoes it; the mock answers by it.
    var message: String {
        switch self {
        case .sim: "Hello from keel-bench, please echo this short message."
        case .tool: "What is 2 + 3? Use the add tool."
        case .stream: MockReply.stampedRequestPrefix + ": stream time-stamped tokens."
        }
    }

    /// The scenario's model is the OpenAI mock.
    var usesMock: Bool { self != .sim }
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
