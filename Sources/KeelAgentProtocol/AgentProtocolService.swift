import Foundation
import KeelCore
import KeelEngine
import KeelServices
import Logging

/// The Agent Protocol services over the engine's own: assistants are agents, threads are
/// sessions, runs are submitted to the one `TurnRunner` and read from the one event log.
/// Split by resource in `+Assistants`, `+Threads`, `+Runs`, `+Resume` and `+Stream`.
public struct AgentProtocolService: Sendable {
    let store: any KeelStore
    let records: any ProtocolRecordStore
    let runner: any TurnRunner
    let services: APIServices
    let failures: EventDecodeFailureReporter
    let logger: Logger
    /// Told about every new run that has a webhook or an ephemeral thread, so it can act on its end.
    let completions: RunCompletions?
    /// Refuses webhook URLs the delivery policy would not call (nil: every http(s) URL).
    let webhookPolicy: (@Sendable (String) async -> String?)?

    public init(
        store: any KeelStore, records: any ProtocolRecordStore, runner: any TurnRunner, services: APIServices,
        completions: RunCompletions? = nil, webhookPolicy: (@Sendable (String) async -> String?)? = nil,
        failures: EventDecodeFailureReporter = .logging(label: "keel.agent-protocol"),
        logger: Logger = Logger(label: "keel.agent-protocol")
    ) {
        self.store = store
        self.records = records
        self.runner = runner
        self.services = services
        self.completions = completions
        self.webhookPolicy = webhookPolicy
        self.failures = failures
        self.logger = logger
    }

    /// The session's whole event log, a page at a time.
    func allEvents(sessionID: String, organizationID: String, after sequence: Int = 0) async throws -> [Event] {
        var events: [Event] = []
        var query = EventQuery(afterSequence: sequence, limit: 2000)
        while true {
            let page = try await store.events(sessionID: sessionID, organizationID: organizationID, query)
            events += page
            guard let last = page.last, page.count == 2000 else { return events }
            query.afterSequence = last.sequence
        }
    }
}

/// Ids a client may choose for assistants and threads (LangGraph clients send UUIDs).
enum ProtocolIDs {
    static let maxLength = 128

    static func validate(_ id: String, field: String) throws(AgentProtocolError) {
        let allowed = (1...maxLength).contains(id.utf8.count)
            && id.utf8.allSatisfy { byte in
                (0x30...0x39).contains(byte) || (0x41...0x5A).contains(byte) || (0x61...0x7A).contains(byte)
                    || byte == 0x2D || byte == 0x5F || byte == 0x2E || byte == 0x3A
            }
        guard allowed else {
            throw .invalid("\(field) must be 1-\(maxLength) characters of A-Z, a-z, 0-9, '-', '_', '.' or ':'")
        }
        // Keel's own ids name sessions, agents and turns: a client cannot take one for a thread or assistant.
        if IDPrefix.allCases.contains(where: { PublicID.isValid(id, prefix: $0) }) {
            throw .invalid("\(field) '\(id)' has the shape of a Keel id; choose another (a UUID, for example)")
        }
    }

    static func newRunID() -> String { UUID().uuidString.lowercased() }
}

/// Timestamps as LangGraph clients parse them (ISO 8601 with milliseconds, UTC).
enum ProtocolTime {
    static func string(_ date: Date) -> JSONValue {
        .string(KeelJSON.timestamp(date))
    }
}
