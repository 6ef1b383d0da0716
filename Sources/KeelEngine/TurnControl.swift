import Foundation
import KeelCore
import Logging
import ServiceLifecycle

/// The one turn engine. It is the HTTP API's `TurnRunner` (submit, cancel) and the executors'
/// `StepChannel` (claim, context, emit, record, heartbeat, complete, fail, release), written once
/// over a `TurnStore`: PostgreSQL outside DEV_MODE, memory in DEV_MODE. As a `Service` it relays
/// the store's step notifications to subscribed executors and reclaims stale steps.
///
/// A turn is queued when its message is recorded and started at once unless another turn of the
/// session runs (then when that one ends): session `active`, `session.activated`, `turn.started`
/// and the first reason step. Executors run the steps; the step that ends the turn returns the
/// session to idle with the turn's usage and starts the next queued turn — each transition one
/// transaction under the session's lock.
public final class TurnControl: TurnRunner, StepChannel, Service, Sendable {
    let store: any TurnStore
    let planner: TurnPlanner
    public let policy: DurableConfiguration
    let signals = StepSignals()
    /// Where a stored message that does not decode is reported when a step reads the history.
    let decodeFailures: EventDecodeFailureReporter
    /// The worker registry, queue listings and operations log (PostgreSQL); nil in DEV_MODE.
    public let operations: (any OperationsStore)?
    /// The providers' circuit breakers; nil when they are off.
    public let breakers: ProviderCircuitBreakers?
    /// This process's claims, reclaims and dead letters, for Prometheus.
    public let counters = OperationCounters()
    let providerCalls = ProviderCallRegistry()
    /// Recently active sessions' conversations, decoded once (every step sends the whole of it).
    let conversations = ConversationCache()
    let logger: Logger

    /// - Parameter decodeFailures: nil logs them only (the server passes its counting reporter).
    public init(
        store: any TurnStore, planner: TurnPlanner, policy: DurableConfiguration,
        decodeFailures: EventDecodeFailureReporter? = nil, operations: (any OperationsStore)? = nil,
        breakers: ProviderCircuitBreakers? = nil, logger: Logger
    ) {
        self.store = store
        self.planner = planner
        self.policy = policy
        self.decodeFailures = decodeFailures ?? .logging(logger)
        self.operations = operations
        self.breakers = breakers
        self.logger = logger
    }

    public var configuration: EngineConfiguration { planner.configuration }
    public var modelResolver: ModelResolver { planner.modelResolver }

    public func run() async throws {
        try await withGracefulShutdownHandler {
            try await cancelWhenGracefulShutdown {
                try await self.store.waitUntilReady()
                await withTaskGroup(of: Void.self) { group in
                    group.addTask { await self.store.listen { self.signals.broadcast($0) } }
                    if self.policy.reclaimEnabled {
                        group.addTask { await self.reclaimLoop() }
                    }
                    group.addTask { await self.waitDeadlineLoop() }
                    await group.waitForAll()
                }
            }
        } onGracefulShutdown: {
            self.signals.finishAll()
        }
    }

    /// The session's files go with it (in memory they are freed here; PostgreSQL deletes their
    /// rows with the session). A step still running on them is stopped by its lease.
    public func sessionDeleted(sessionID: String) async {
        await store.sessionDeleted(sessionID: sessionID)
    }
}
