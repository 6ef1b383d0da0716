import Foundation
import KeelCore
import KeelEngine
import KeelSecrets
import KeelStorage
import KeelTestSupport
import Synchronization
@testable import KeelServices

/// A turn runner that records what the services ask of it and can refuse submissions.
final class RecordingRunner: TurnRunner {
    let configuration: EngineConfiguration
    let modelResolver: ModelResolver
    /// Calls in order: `submit:<session>`, `cancel:<session>`, `deleted:<session>`.
    let calls = Mutex<[String]>([])
    let queueLimit: Int?
    let store: any KeelStore

    init(store: any KeelStore, configuration: EngineConfiguration = EngineConfiguration(), queueLimit: Int? = nil) {
        self.store = store
        self.configuration = configuration
        self.modelResolver = ModelResolver(store: store)
        self.queueLimit = queueLimit
    }

    func submit(_ message: Message, sessionID: String, organizationID: String, traceContext: TraceContext?)
        async throws -> Event
    {
        if let queueLimit { throw QueuedMessageLimitExceeded(limit: queueLimit) }
        calls.withLock { $0.append("submit:\(sessionID)") }
        return try await store.appendEvent(
            sessionID: sessionID, organizationID: organizationID, EventDraft(type: EventType.inputMessage, context: EventContext(), data: ["message": .encoding(message)]))
    }

    func submitIfIdle(_ message: Message, sessionID: String, organizationID: String, traceContext: TraceContext?)
        async throws -> Event
    {
        try await submit(message, sessionID: sessionID, organizationID: organizationID, traceContext: traceContext)
    }

    func cancel(sessionID: String, organizationID: String) async throws -> Bool {
        // Deletion must cancel while the session still exists.
        let exists = try await store.session(id: sessionID, organizationID: organizationID) != nil
        calls.withLock { $0.append("cancel:\(sessionID):\(exists ? "exists" : "gone")") }
        return false
    }

    func submitToolResults(_ results: [ClientToolResult], sessionID: String, organizationID: String) async throws
        -> HumanInputAccepted
    {
        calls.withLock { $0.append("tool-results:\(sessionID):\(results.count)") }
        throw HumanInputError.notWaiting(.toolResults)
    }

    func submitApprovals(_ decisions: [ToolApprovalDecision], sessionID: String, organizationID: String) async throws
        -> HumanInputAccepted
    {
        calls.withLock { $0.append("tool-approvals:\(sessionID):\(decisions.count)") }
        throw HumanInputError.notWaiting(.toolApprovals)
    }

    func submitAnswers(_ answers: QuestionAnswers, sessionID: String, organizationID: String) async throws
        -> HumanInputAccepted
    {
        calls.withLock { $0.append("question-answers:\(sessionID):\(answers.answers.count)") }
        throw HumanInputError.notWaiting(.questionAnswers)
    }

    func sessionDeleted(sessionID: String) async {
        calls.withLock { $0.append("deleted:\(sessionID)") }
    }
}

/// Services over a fresh in-memory store holding the built-in providers, a catalogue of two
/// capabilities and an ephemeral cipher.
struct ServiceFixture {
    static let knownCapabilities = ["current_time", "test_math"]

    let store = InMemoryStore()
    let cipher = SecretsCipher.generateEphemeral()
    let runner: RecordingRunner
    let services: APIServices
    let organizationID = BuiltIn.organizationID

    /// Stored events the message view skipped as undecodable.
    let decodeFailures = DecodeFailureLog()

    init(configuration: EngineConfiguration = EngineConfiguration(), queueLimit: Int? = nil) async throws {
        for provider in BuiltInProviders.make() { try await store.insertProvider(provider) }
        runner = RecordingRunner(store: store, configuration: configuration, queueLimit: queueLimit)
        let capabilities = CapabilityDirectory(
            all: { Self.knownCapabilities.map { Capability(id: $0, name: $0, description: $0, category: "test", tools: []) } },
            resolve: { refs in
                if let unknown = refs.first(where: { !Self.knownCapabilities.contains($0) }) {
                    throw UnknownCapability(id: unknown)
                }
                return []
            })
        services = APIServices(
            store: store, runner: runner, cipher: cipher, capabilities: capabilities,
            decodeFailures: decodeFailures.reporter)
    }

    struct UnknownCapability: Error, CustomStringConvertible {
        var id: String
        var description: String { "Unknown capability '\(id)'" }
    }
}

/// The `ServiceError` an operation throws, or nil when it succeeds or throws something else.
func serviceError(_ operation: () async throws -> Void) async -> ServiceError? {
    do {
        try await operation()
        return nil
    } catch let error as ServiceError {
        return error
    } catch {
        return nil
    }
}

extension ServiceError {
    /// The code of an `invalidInput`, nil for other cases.
    var inputCode: String? {
        if case .invalidInput(let code, _) = self { return code }
        return nil
    }
}
