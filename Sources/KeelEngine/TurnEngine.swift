import Foundation
import KeelCore
import KeelSecrets
import Logging
import ServiceLifecycle
import Synchronization

/// The pieces of the runtime the engine plugs into the loop, injected so tests can script them.
public struct EngineDependencies: Sendable {
    public var driver: @Sendable (ProviderType) -> any LLMDriver
    public var capabilities: @Sendable ([String]) throws -> [Capability]
    public var fileSystem: @Sendable (String) -> any SessionFileSystem
    /// Frees a deleted session's file system.
    public var removeFileSystem: @Sendable (String) -> Void

    public init(
        driver: @escaping @Sendable (ProviderType) -> any LLMDriver,
        capabilities: @escaping @Sendable ([String]) throws -> [Capability],
        fileSystem: @escaping @Sendable (String) -> any SessionFileSystem,
        removeFileSystem: @escaping @Sendable (String) -> Void = { _ in }
    ) {
        self.driver = driver
        self.capabilities = capabilities
        self.fileSystem = fileSystem
        self.removeFileSystem = removeFileSystem
    }
}

/// Runs turns in-process as a ServiceLifecycle `Service`. Every session has a mailbox; a session's
/// turns run one after another inside the service's task group, so shutdown waits for them.
public final class TurnEngine: TurnRunner, Service, Sendable {
    public let store: any KeelStore
    public let configuration: EngineConfiguration
    let dependencies: EngineDependencies
    let cipher: SecretsCipher
    let logger: Logger
    let mailboxes = Mutex<[String: Mailbox]>([:])
    private let jobs: AsyncStream<String>
    private let jobsContinuation: AsyncStream<String>.Continuation

    public init(
        store: any KeelStore, configuration: EngineConfiguration, dependencies: EngineDependencies,
        cipher: SecretsCipher, logger: Logger
    ) {
        self.store = store
        self.configuration = configuration
        self.dependencies = dependencies
        self.cipher = cipher
        self.logger = logger
        (jobs, jobsContinuation) = AsyncStream.makeStream()
    }

    public var modelResolver: ModelResolver { ModelResolver(store: store) }

    var planner: TurnPlanner {
        TurnPlanner(
            store: store, configuration: configuration, capabilities: dependencies.capabilities, cipher: cipher,
            logger: logger)
    }

    public func run() async throws {
        await withGracefulShutdownHandler {
            await withDiscardingTaskGroup { group in
                for await sessionID in jobs {
                    group.addTask { await self.drainMailbox(sessionID: sessionID) }
                }
            }
        } onGracefulShutdown: {
            self.jobsContinuation.finish()
        }
    }

    /// Records the user's message as `input.message` and schedules a turn for it. A caller's
    /// trace context (W3C `traceparent`) is kept on the event, so the turn's trace joins it.
    public func submit(_ message: Message, sessionID: String, traceContext: TraceContext? = nil) async throws -> Event {
        var context = EventContext(inputMessageID: message.id)
        context.traceID = traceContext?.traceID
        context.spanID = traceContext?.spanID
        // The queue slot is taken before the message is recorded, so a refused message leaves no
        // trace and concurrent posts cannot overshoot the limit between the check and the append.
        try reserveQueueSlot(sessionID: sessionID)
        let event: Event
        do {
            event = try await store.appendEvent(
                sessionID: sessionID,
                EventDraft(type: EventType.inputMessage, context: context, data: ["message": .encoding(message)]))
        } catch {
            mailboxes.withLock { table in
                table[sessionID]?.reserved -= 1
                if let mailbox = table[sessionID], mailbox.isIdle { table[sessionID] = nil }
            }
            throw error
        }
        let startRunner = mailboxes.withLock { table -> Bool in
            var mailbox = table[sessionID] ?? Mailbox()
            mailbox.reserved = max(mailbox.reserved - 1, 0)
            mailbox.pending.append(PendingInput(message: message))
            let start = !mailbox.isDraining
            mailbox.isDraining = true
            table[sessionID] = mailbox
            return start
        }
        if startRunner { jobsContinuation.yield(sessionID) }
        return event
    }

    /// Counts the message against `maxQueuedMessagesPerSession`, or refuses it. A message waits
    /// when a turn runs or others wait; on an idle session it starts at once and never queues.
    private func reserveQueueSlot(sessionID: String) throws(QueuedMessageLimitExceeded) {
        let limit = configuration.maxQueuedMessagesPerSession
        let accepted = mailboxes.withLock { table -> Bool in
            var mailbox = table[sessionID] ?? Mailbox()
            // On an idle session the first of these messages runs at once rather than waiting.
            let waitingAllowed = mailbox.isDraining ? limit : limit + 1
            if mailbox.pending.count + mailbox.reserved >= waitingAllowed { return false }
            mailbox.reserved += 1
            table[sessionID] = mailbox
            return true
        }
        if !accepted { throw QueuedMessageLimitExceeded(limit: limit) }
    }

    /// Cancels the running turn (and drops queued inputs). Returns false when nothing was running.
    public func cancel(sessionID: String) async -> Bool {
        let handle = mailboxes.withLock { table -> TurnHandle? in
            table[sessionID]?.pending.removeAll()
            return table[sessionID]?.current
        }
        guard let handle else { return false }
        handle.requestCancel()
        await handle.waitUntilFinished(limit: configuration.cancelWaitLimit)
        return true
    }

    /// The session's files go with it; a turn still winding down keeps writing to the instance it
    /// already holds, which is then unreachable and freed when the turn ends.
    public func sessionDeleted(sessionID: String) async {
        dependencies.removeFileSystem(sessionID)
    }

    private func drainMailbox(sessionID: String) async {
        while let (input, handle) = nextInput(sessionID: sessionID) {
            await runTurn(input: input, sessionID: sessionID, handle: handle)
            handle.markFinished()
        }
    }

    private func nextInput(sessionID: String) -> (PendingInput, TurnHandle)? {
        mailboxes.withLock { table in
            guard var mailbox = table[sessionID], !mailbox.pending.isEmpty else {
                // A submit that reserved a slot but has not enqueued yet keeps the mailbox; it
                // starts a new drain when it enqueues.
                if var mailbox = table[sessionID], mailbox.reserved > 0 {
                    mailbox.isDraining = false
                    mailbox.current = nil
                    table[sessionID] = mailbox
                } else {
                    table[sessionID] = nil
                }
                return nil
            }
            let input = mailbox.pending.removeFirst()
            let handle = TurnHandle()
            mailbox.current = handle
            table[sessionID] = mailbox
            return (input, handle)
        }
    }
}

struct PendingInput: Sendable {
    var message: Message
}

struct Mailbox: Sendable {
    var pending: [PendingInput] = []
    var current: TurnHandle?
    var isDraining = false
    /// Submits that passed the queue limit and are recording their message.
    var reserved = 0

    var isIdle: Bool { pending.isEmpty && current == nil && !isDraining && reserved == 0 }
}

/// Lets `/cancel` stop one running turn and wait for it to wind down.
final class TurnHandle: Sendable {
    private let cancelRequested = Latch()
    private let finished = Latch()
    private let cancelled = Atomic<Bool>(false)

    var wasCancelled: Bool { cancelled.load(ordering: .acquiring) }

    func requestCancel() {
        cancelled.store(true, ordering: .releasing)
        cancelRequested.signal()
    }

    /// Returns when cancellation is requested or the turn finished, or when the waiting task is cancelled.
    func waitForCancelRequest() async {
        await cancelRequested.wait()
    }

    func markFinished() {
        cancelRequested.signal()
        finished.signal()
    }

    func waitUntilFinished(limit: Duration) async {
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await self.finished.wait() }
            group.addTask { try? await Task.sleep(for: limit) }
            await group.next()
            group.cancelAll()
        }
    }
}
