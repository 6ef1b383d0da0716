import Foundation
import KeelCore
import Synchronization

/// DEV_MODE's turn store: the engine's turns and steps in memory, next to an in-memory `KeelStore`
/// that holds sessions and the event log.
///
/// Every operation runs under one serialising lock (the in-memory counterpart of the session and
/// task row locks). A transaction works on a copy of the turn tables that replaces them only if
/// its body returns, so a throw rolls turns and steps back; events and session updates go to the
/// store as they are made, in order (the engine's transactions throw only before their first
/// write, or when the session was deleted, whose log is then gone anyway). After the commit, still
/// under the lock so observers see each session's events in order, the appended events are handed
/// to the observers; step notifications are delivered to `listen`.
public final class InMemoryTurnStore: TurnStore {
    /// The underlying store, unobserved: this store feeds the observers itself after each commit.
    let log: any KeelStore
    let observers: [any EventObserver]
    let fileSystem: @Sendable (String) -> any SessionFileSystem
    let removeFileSystem: @Sendable (String) -> Void
    let lock = AsyncSerialLock()
    let tables = Mutex(TurnTables())
    private let notifications: AsyncStream<StepNotification>
    private let notifier: AsyncStream<StepNotification>.Continuation

    public init(
        log: any KeelStore, observers: [any EventObserver],
        fileSystem: @escaping @Sendable (String) -> any SessionFileSystem,
        removeFileSystem: @escaping @Sendable (String) -> Void
    ) {
        self.log = log
        self.observers = observers
        self.fileSystem = fileSystem
        self.removeFileSystem = removeFileSystem
        // Wake-ups coalesce at the executors, so dropping the oldest of a huge backlog loses nothing.
        (notifications, notifier) = AsyncStream.makeStream(bufferingPolicy: .bufferingNewest(4096))
    }

    public func transaction<Result: Sendable>(_ body: (any TurnTransaction) async throws -> Result) async throws
        -> Result
    {
        try await lock.withLock {
            let tx = InMemoryTurnTransaction(log: log, tables: tables.withLock { $0 })
            let result = try await body(tx)
            let committed = tx.committed
            tables.withLock { $0 = committed.tables }
            publish(committed.events)
            for notification in committed.notifications { notifier.yield(notification) }
            return result
        }
    }

    public func claim(workerID: String, limit: Int) async throws -> [ClaimedStep] {
        await lock.withLock {
            tables.withLock { $0.claim(workerID: workerID, limit: limit, now: Date()) }
        }
    }

    public func appendLive(_ draft: EventDraft, sessionID: String, lease: StepLease) async throws -> Bool {
        try await lock.withLock {
            let organizationID = tables.withLock { tables in
                tables.task(holding: lease).flatMap { $0.sessionID == sessionID ? tables.organizationID(of: $0) : nil }
            }
            guard let organizationID else { return false }
            publish([try await log.appendEvent(sessionID: sessionID, organizationID: organizationID, draft)])
            return true
        }
    }

    public func heartbeat(_ lease: StepLease) async throws -> Bool {
        await lock.withLock {
            tables.withLock { tables in
                guard tables.task(holding: lease) != nil else { return false }
                tables.tasks[lease.taskID]?.heartbeatAt = Date()
                return true
            }
        }
    }

    public func leasedStep(_ lease: StepLease) async throws -> LeasedStep? {
        tables.withLock { tables in
            tables.task(holding: lease).map { LeasedStep(turnID: $0.turnID, sessionID: $0.sessionID, step: $0.step) }
        }
    }

    public func turnSpec(turnID: String) async throws -> (spec: TurnSpec, inputSequence: Int)? {
        tables.withLock { tables in
            guard let turn = tables.turns[turnID], let spec = turn.spec else { return nil }
            return (spec, turn.inputSequence)
        }
    }

    public func laterInputMessageIDs(sessionID: String, after inputSequence: Int) async throws -> Set<String> {
        tables.withLock { tables in
            Set(tables.turns.values.filter { $0.sessionID == sessionID && $0.inputSequence > inputSequence }
                .map(\.inputMessageID))
        }
    }

    public func toolResults(turnID: String, callIDs: [String]) async throws -> [String: JSONValue] {
        tables.withLock { tables in
            (tables.turns[turnID]?.toolResults ?? [:]).filter { callIDs.contains($0.key) }
        }
    }

    public func staleTasks(olderThan threshold: Duration, limit: Int) async throws -> [StaleTask] {
        let cutoff = Date().addingTimeInterval(-threshold.inSeconds)
        return tables.withLock { tables in
            tables.tasks.values.filter { $0.status == .claimed && $0.heartbeatAt < cutoff }
                .sorted { $0.heartbeatAt < $1.heartbeatAt }.prefix(limit)
                .compactMap { task in
                    tables.organizationID(of: task).map {
                        StaleTask(taskID: task.id, sessionID: task.sessionID, organizationID: $0)
                    }
                }
        }
    }

    public func expiredWaits(now: Date, limit: Int) async throws -> [WaitingTurn] {
        tables.withLock { tables in
            tables.turns.values.compactMap { turn -> (TurnTables.Turn, TurnWait)? in
                guard turn.status == .running, let wait = turn.wait, wait.deadline < now else { return nil }
                return (turn, wait)
            }
            .sorted { $0.1.deadline < $1.1.deadline }.prefix(limit)
            .compactMap { turn, _ in
                turn.spec.map {
                    WaitingTurn(turnID: turn.id, sessionID: turn.sessionID, organizationID: $0.organizationID)
                }
            }
        }
    }

    public func listen(_ deliver: @escaping @Sendable (StepNotification) -> Void) async {
        for await notification in notifications { deliver(notification) }
    }

    public func waitUntilReady() async throws {}

    public func files(sessionID: String) -> any SessionFileSystem { fileSystem(sessionID) }

    /// Drops the session's turns and steps (their leases end, so running steps stop) and its files.
    public func sessionDeleted(sessionID: String) async {
        let running = await lock.withLock { tables.withLock { $0.removeSession(sessionID) } }
        for turnID in running { notifier.yield(.turnCancelled(turnID: turnID)) }
        removeFileSystem(sessionID)
    }

    private func publish(_ events: [Event]) {
        for event in events {
            for observer in observers { observer.observe(event) }
        }
    }
}
