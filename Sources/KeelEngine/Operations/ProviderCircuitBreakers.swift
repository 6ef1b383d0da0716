import Foundation
import KeelCore
import Logging
import Synchronization

/// The breakers in front of the providers, one per provider record and model
/// (`external:<provider type>:<provider id>:<model>`; see `CircuitBreakerState`).
/// The control plane asks before each reason step (`admit`) and counts its outcome (`record`):
/// only provider-side failures count (server errors, rate limits, timeouts, broken streams), never
/// a request the provider refused or a misconfigured key, so no caller can open a breaker for
/// everyone by sending bad input. A store that fails lets calls through (fail-open) and logs why.
public final class ProviderCircuitBreakers: Sendable {
    /// `turn.failed` error codes of provider-side failures.
    public static let providerFailureCodes: Set<String> = ["llm_error", "provider_rate_limited"]
    /// The error code of a turn refused because its provider's breaker is open.
    public static let unavailableCode = "provider_unavailable"

    public let store: any CircuitBreakerStore
    public let policy: CircuitBreakerPolicy
    let logger: Logger
    /// Calls refused while open, by key (this process's count, for Prometheus).
    private let refusals = Mutex<[String: Int]>([:])
    /// Told of every state change (the operations log, when there is one).
    let onChange: @Sendable (CircuitBreakerState, CircuitBreakerState.State) async -> Void

    public init(
        store: any CircuitBreakerStore, policy: CircuitBreakerPolicy, logger: Logger,
        onChange: @escaping @Sendable (CircuitBreakerState, CircuitBreakerState.State) async -> Void = { _, _ in }
    ) {
        self.store = store
        self.policy = policy
        self.logger = logger
        self.onChange = onChange
    }

    public var refusalCounts: [String: Int] { refusals.withLock { $0 } }

    /// One provider record and model of one organization: what a breaker stands for.
    public struct ProviderCall: Sendable, Hashable {
        public var providerType: String
        public var providerID: String?
        public var model: String
        public var organizationID: String

        public init(providerType: String, providerID: String?, model: String, organizationID: String) {
            self.providerType = providerType
            self.providerID = providerID
            self.model = model
            self.organizationID = organizationID
        }

        public init(_ spec: TurnSpec) {
            self.init(
                providerType: spec.providerType.rawValue, providerID: spec.providerID, model: spec.model,
                organizationID: spec.organizationID)
        }

        public var key: String { CircuitBreakerState.key(providerType: providerType, providerID: providerID, model: model) }
    }

    /// The breakers an organization may see (every one for the platform).
    public func breakers(visibleTo organizationID: String?) async throws -> [CircuitBreakerState] {
        try await store.breakers().filter { organizationID == nil || $0.organizationID == organizationID }
    }

    /// An admission, and whether the breaker had nothing to reset when it was asked (then the
    /// call's success need not be written).
    public struct Decision: Sendable, Hashable {
        public var admission: CircuitBreakerState.Admission
        public var wasQuiet: Bool
    }

    /// Whether a call to the provider may go ahead. A breaker that never failed costs one read.
    public func admit(_ call: ProviderCall) async -> Decision {
        guard policy.enabled else { return Decision(admission: .allowed, wasQuiet: true) }
        let key = call.key
        do {
            guard let current = try await store.breaker(key: key) else { return Decision(admission: .allowed, wasQuiet: true) }
            guard current.state != .closed else { return Decision(admission: .allowed, wasQuiet: current.isQuiet) }
            let policy = self.policy
            let (before, after, admission) = try await store.update(key: key, organizationID: call.organizationID) {
                $0.admit(now: Date(), policy: policy)
            }
            if case .refused = admission { refusals.withLock { $0[key, default: 0] += 1 } }
            if before.state != after.state { await changed(after, from: before.state) }
            return Decision(admission: admission, wasQuiet: false)
        } catch {
            logger.warning("circuit breaker unavailable; letting the call through", metadata: ["key": "\(key)", "error": "\(error)"])
            return Decision(admission: .allowed, wasQuiet: false)
        }
    }

    /// Counts a reason step's outcome: `failureCode` is its `turn.failed` code, nil on success.
    /// `wasQuiet` is the admission's: a success of a call admitted by a breaker with nothing to
    /// reset is not written (a failure counted meanwhile is reset by the next admitted success).
    public func record(_ call: ProviderCall, failureCode: String?, wasQuiet: Bool = false) async {
        guard policy.enabled else { return }
        let key = call.key
        let failed = failureCode.map(Self.providerFailureCodes.contains) ?? false
        guard failed || failureCode == nil else { return }
        if !failed && wasQuiet { return }
        do {
            if !failed, try await store.breaker(key: key)?.isQuiet ?? true { return }
            let policy = self.policy
            let (before, after, _) = try await store.update(key: key, organizationID: call.organizationID) {
                $0.record(success: !failed, now: Date(), policy: policy)
            }
            if before.state != after.state { await changed(after, from: before.state) }
        } catch {
            logger.warning("cannot record a circuit breaker outcome", metadata: ["key": "\(key)", "error": "\(error)"])
        }
    }

    /// An operator closes the breaker now; nil when it has none or it is another organization's.
    public func reset(key: String, organizationID: String?) async throws -> CircuitBreakerState? {
        guard let current = try await store.breaker(key: key),
            organizationID == nil || current.organizationID == organizationID
        else { return nil }
        let (before, after, _) = try await store.update(key: key, organizationID: current.organizationID) { $0.close() }
        if before.state != after.state { await changed(after, from: before.state) }
        return after
    }

    private func changed(_ state: CircuitBreakerState, from previous: CircuitBreakerState.State) async {
        let level: Logger.Level = state.state == .open ? .error : .notice
        logger.log(
            level: level, "circuit breaker \(state.state.rawValue)",
            metadata: ["key": "\(state.key)", "from": "\(previous.rawValue)",
                       "consecutive_failures": "\(state.consecutiveFailures)"])
        await onChange(state, previous)
    }
}
