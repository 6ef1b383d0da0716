import Foundation
import KeelCore
import KeelTestSupport
import NIOCore
import Testing

/// The two ways a Keel server runs turns: DEV_MODE's in-memory store and engine, and durable
/// mode on PostgreSQL with embedded step executors. The lifecycle suite runs every scenario in
/// both and expects the same events.
enum ServerConfiguration: String, CaseIterable, Sendable, CustomTestStringConvertible {
    case memory
    case postgres

    var testDescription: String { rawValue }
}

/// What a lifecycle scenario can script besides the `sim` model: an OpenAI-compatible fake
/// provider playing `script` and a page whose first fetch hangs until released (a slow tool).
struct LifecycleFixtures: Sendable {
    let server: TestServer
    let provider: FakeProviderLog
    let page: SlowPage
}

enum LifecycleHarness {
    static let providerKey = "sk-lifecycle-key"

    /// Starts a server in `configuration`, wired to the fake provider and the slow page, and runs
    /// `body` against it. Without `KEEL_TEST_DATABASE_URL` the PostgreSQL configuration prints why
    /// it is skipped and returns (as every PostgreSQL test does).
    static func run(
        _ configuration: ServerConfiguration, script: [FakeReply] = [],
        _ body: @escaping @Sendable (LifecycleFixtures) async throws -> Void
    ) async throws {
        switch configuration {
        case .memory:
            try await withFixtures(base: [:], script: script, body)
        case .postgres:
            try await PostgresPersistenceTests.withDatabase { url in
                try await withFixtures(
                    base: PostgresPersistenceTests.environment(url).merging(["DURABLE_EMBEDDED_EXECUTORS": "2"]) { $1 },
                    script: script, body)
            }
        }
    }

    private static func withFixtures(
        base: [String: String], script: [FakeReply], _ body: @escaping @Sendable (LifecycleFixtures) async throws -> Void
    ) async throws {
        try await SlowPage.run { page in
            try await FakeProviderServer.run(script: script) { provider, baseURL in
                let environment = base.merging([
                    "OPENAI_BASE_URL": baseURL + "/v1", "DEFAULT_OPENAI_API_KEY": providerKey,
                    "WEB_FETCH_ALLOW_PRIVATE_ADDRESSES": "true",
                ]) { $1 }
                try await TestServer.run(environment: environment) { server in
                    try await body(LifecycleFixtures(server: server, provider: provider, page: page))
                }
            }
        }
    }

    /// An OpenAI answer that sends its first words and then stalls (for 30 s): only a cancel ends
    /// the turn while the model streams.
    static var stallingReply: FakeReply {
        var reply = FakeReply.stream(Array(OpenAIWire.finalText.prefix(2)))
        reply.ending = .stall
        return reply
    }
}

/// One turn's slice of a session's event log, from its `session.activated` to its `session.idled`.
struct TurnEvents {
    let events: [JSONValue]

    func first(_ type: String) -> JSONValue? { events.first { $0["type"]?.stringValue == type } }
    func all(_ type: String) -> [JSONValue] { events.filter { $0["type"]?.stringValue == type } }

    /// Splits a log at each `session.activated` (events before the first are dropped).
    static func split(_ log: [JSONValue]) -> [TurnEvents] {
        var turns: [[JSONValue]] = []
        for event in log {
            if event["type"] == "session.activated" {
                turns.append([event])
            } else if !turns.isEmpty {
                turns[turns.count - 1].append(event)
            }
        }
        return turns.map(TurnEvents.init)
    }
}
