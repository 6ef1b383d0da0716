import Foundation

/// When a provider's breaker opens and how it recovers (`CIRCUIT_BREAKER_*`).
public struct CircuitBreakerPolicy: Sendable, Hashable {
    public var enabled: Bool
    /// Consecutive failures that open the breaker.
    public var failureThreshold: Int
    /// The failure rate (0–1) that opens the breaker once `minimumRequests` calls were counted in
    /// the window.
    public var failureRate: Double
    public var minimumRequests: Int
    /// The window the rate is measured over; it starts at the first failure after a quiet spell.
    public var window: Duration
    /// How long an open breaker refuses calls before it lets one probe through.
    public var openDuration: Duration

    public init(
        enabled: Bool = true, failureThreshold: Int = 5, failureRate: Double = 0.5, minimumRequests: Int = 10,
        window: Duration = .seconds(60), openDuration: Duration = .seconds(30)
    ) {
        self.enabled = enabled
        self.failureThreshold = failureThreshold
        self.failureRate = failureRate
        self.minimumRequests = minimumRequests
        self.window = window
        self.openDuration = openDuration
    }
}

/// One breaker (`external:<provider type>:<provider id>:<model>`) as every instance shares it: the
/// state machine is here, pure; the stores (memory, PostgreSQL) only keep it and change it
/// atomically.
///
/// A breaker belongs to one provider record, which belongs to one organization: an organization
/// whose own endpoint or key fails (or whose key is rate-limited) opens only its own breakers,
/// never another organization's.
///
/// closed → open after `failureThreshold` consecutive failures, or a failure rate of at least
/// `failureRate` over at least `minimumRequests` calls in the window; open → half-open when
/// `openDuration` has passed and a call asks (that call is the one probe; others are refused
/// while it runs, or until it is `openDuration` old); half-open → closed on the probe's success,
/// → open again on its failure.
public struct CircuitBreakerState: Codable, Sendable, Hashable {
    public enum State: String, Codable, Sendable, Hashable, CaseIterable {
        case closed, open
        case halfOpen = "half_open"
    }

    public var key: String
    /// The organization of the breaker's provider (absent in no stored state: set on creation).
    public var organizationID: String?
    public var state: State = .closed
    public var consecutiveFailures = 0
    public var windowStartedAt: Date?
    public var windowRequests = 0
    public var windowFailures = 0
    public var openedAt: Date?
    /// When an open breaker lets its next probe through.
    public var retryAt: Date?
    public var probeStartedAt: Date?
    public var updatedAt: Date

    public init(key: String, organizationID: String? = nil, now: Date) {
        self.key = key
        self.organizationID = organizationID
        self.updatedAt = now
    }

    /// The breaker key of a provider record and model (`default` for a turn without a provider
    /// record, such as the built-in `sim` model).
    public static func key(providerType: String, providerID: String?, model: String) -> String {
        "external:\(providerType):\(providerID ?? "default"):\(model)"
    }

    public enum Admission: Sendable, Hashable {
        case allowed
        /// This call is the half-open probe.
        case probe
        /// Refused until `retryAt`.
        case refused(retryAt: Date)
    }

    /// Whether a call may go to the provider now; taking the probe changes the state.
    public mutating func admit(now: Date, policy: CircuitBreakerPolicy) -> Admission {
        switch state {
        case .closed:
            return .allowed
        case .open:
            let retry = retryAt ?? now
            guard retry <= now else { return .refused(retryAt: retry) }
            state = .halfOpen
            probeStartedAt = now
            updatedAt = now
            return .probe
        case .halfOpen:
            // A probe that never reported (its worker died) does not hold the breaker forever.
            if let started = probeStartedAt, now.timeIntervalSince(started) < policy.openDuration.inSeconds {
                return .refused(retryAt: started.addingTimeInterval(policy.openDuration.inSeconds))
            }
            probeStartedAt = now
            updatedAt = now
            return .probe
        }
    }

    /// Counts a call's outcome; returns true when it changed the state.
    @discardableResult
    public mutating func record(success: Bool, now: Date, policy: CircuitBreakerPolicy) -> Bool {
        let before = state
        updatedAt = now
        if let started = windowStartedAt, now.timeIntervalSince(started) > policy.window.inSeconds {
            windowStartedAt = nil
            windowRequests = 0
            windowFailures = 0
        }
        if success {
            consecutiveFailures = 0
            if windowStartedAt != nil { windowRequests += 1 }
            if state != .closed { close() }
            return before != state
        }
        consecutiveFailures += 1
        if windowStartedAt == nil { windowStartedAt = now }
        windowRequests += 1
        windowFailures += 1
        let rateTripped =
            windowRequests >= policy.minimumRequests
            && Double(windowFailures) / Double(windowRequests) >= policy.failureRate
        if state == .halfOpen || consecutiveFailures >= policy.failureThreshold || rateTripped {
            state = .open
            openedAt = now
            retryAt = now.addingTimeInterval(policy.openDuration.inSeconds)
            probeStartedAt = nil
        }
        return before != state
    }

    /// Back to closed with clean counters (a successful probe, or an operator's reset).
    public mutating func close() {
        state = .closed
        consecutiveFailures = 0
        windowStartedAt = nil
        windowRequests = 0
        windowFailures = 0
        openedAt = nil
        retryAt = nil
        probeStartedAt = nil
    }

    /// Whether a call's outcome can change anything: a success with nothing to reset changes
    /// nothing, so stores may skip writing it.
    public var isQuiet: Bool { state == .closed && consecutiveFailures == 0 && windowStartedAt == nil }
}

/// Where breakers are kept: memory (one instance) or PostgreSQL (every instance agrees).
public protocol CircuitBreakerStore: Sendable {
    /// The breaker's state, without changing it (nil: never used, so closed).
    func breaker(key: String) async throws -> CircuitBreakerState?
    /// Applies `change` atomically to the breaker (a fresh closed one of `organizationID` if it has
    /// none) and returns the states before and after.
    func update<T: Sendable>(
        key: String, organizationID: String?, _ change: @Sendable (inout CircuitBreakerState) -> T
    ) async throws
        -> (before: CircuitBreakerState, after: CircuitBreakerState, result: T)
    func breakers() async throws -> [CircuitBreakerState]
}

extension CircuitBreakerState.State {
    /// The operations-log entry of entering this state.
    public var operationsEventType: String {
        switch self {
        case .open: OperationsEvent.Kind.breakerOpened
        case .halfOpen: OperationsEvent.Kind.breakerHalfOpened
        case .closed: OperationsEvent.Kind.breakerClosed
        }
    }
}
