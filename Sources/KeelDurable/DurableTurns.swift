import Foundation
import KeelCore
import KeelEngine
import KeelStorage
import Logging
import PostgresNIO
import ServiceLifecycle

/// Runs turns durably on PostgreSQL. It is the HTTP API's `TurnRunner` (submit, cancel) and the
/// executors' `StepChannel` (claim, context, emit, record, heartbeat, complete, fail, release),
/// and as a `Service` it listens for step wake-ups and cancellations and reclaims stale steps.
public final class DurableTurns: TurnRunner, StepChannel, Service, Sendable {
    /// NOTIFY channels: a step became claimable (no payload); a turn was cancelled (payload: turn id).
    static let stepsChannel = "keel_steps"
    static let cancelChannel = "keel_cancel"

    let store: PostgresStore
    let planner: TurnPlanner
    let durable: DurableConfiguration
    let files: @Sendable (String) -> any SessionFileSystem
    let observers: [any EventObserver]
    let signals = StepSignals()
    let logger: Logger

    public init(
        store: PostgresStore, planner: TurnPlanner, durable: DurableConfiguration,
        files: @escaping @Sendable (String) -> any SessionFileSystem, observers: [any EventObserver], logger: Logger
    ) {
        self.store = store
        self.planner = planner
        self.durable = durable
        self.files = files
        self.observers = observers
        self.logger = logger
    }

    public var configuration: EngineConfiguration { planner.configuration }
    public var modelResolver: ModelResolver { planner.modelResolver }

    public func run() async throws {
        try await withGracefulShutdownHandler {
            try await cancelWhenGracefulShutdown {
                try await self.store.waitForSchema()
                await withTaskGroup(of: Void.self) { group in
                    group.addTask {
                        await self.store.listen(on: [Self.stepsChannel, Self.cancelChannel]) { channel, payload in
                            self.signals.broadcast(
                                channel == Self.cancelChannel ? .turnCancelled(turnID: payload) : .stepsAvailable)
                        }
                    }
                    if self.durable.reclaimEnabled {
                        group.addTask { await self.reclaimLoop() }
                    }
                    await group.waitForAll()
                }
            }
        } onGracefulShutdown: {
            self.signals.finishAll()
        }
    }

    /// Wakes local readers and observers for events committed by a transaction.
    func published(_ events: [Event]) {
        for sessionID in Set(events.map(\.sessionID)) { store.eventSignals.notify(sessionID: sessionID) }
        for event in events {
            for observer in observers { observer.observe(event) }
        }
    }

    func transaction<Result: Sendable>(_ body: (PostgresConnection) async throws -> Result) async throws -> Result {
        try await store.transaction(body)
    }

    func append(_ drafts: [EventDraft], sessionID: String, on connection: PostgresConnection) async throws -> [Event] {
        var events: [Event] = []
        for draft in drafts { events.append(try await store.appendEvent(sessionID: sessionID, draft, on: connection)) }
        return events
    }

    func notifySteps(on connection: PostgresConnection) async throws {
        try await connection.query("SELECT pg_notify(\(Self.stepsChannel), '')", logger: logger)
    }
}
