import Foundation
import Synchronization

/// SSE knobs from the environment (`SSE_*`).
public struct SSESettings: Sendable {
    public var heartbeatInterval: Duration
    public var realtimeCycle: Duration
    /// How long a durable monitoring stream (`/v1/durable/monitor/sse`) stays open.
    public var monitoringCycle: Duration
    /// The cycle is jittered by up to this fraction either way, fixed per connection, so that
    /// clients connected together do not all reconnect together.
    public var cycleJitter: Double
    public var globalMax: Int
    public var perSessionMax: Int
    public var perOrganizationMax: Int
    /// `retry:` hint sent with frames and on `disconnecting`.
    public var retryMilliseconds: Int
    /// Events read from the store per replay page; a slow client holds at most one page in memory.
    public var replayPageSize: Int

    public init(
        heartbeatInterval: Duration = .seconds(30), realtimeCycle: Duration = .seconds(300), cycleJitter: Double = 0.2,
        globalMax: Int = 10000, perSessionMax: Int = 5, perOrganizationMax: Int = 1000, retryMilliseconds: Int = 100,
        replayPageSize: Int = 500, monitoringCycle: Duration = .seconds(600)
    ) {
        self.monitoringCycle = monitoringCycle
        self.heartbeatInterval = heartbeatInterval
        self.realtimeCycle = realtimeCycle
        self.cycleJitter = cycleJitter
        self.globalMax = globalMax
        self.perSessionMax = perSessionMax
        self.perOrganizationMax = perOrganizationMax
        self.retryMilliseconds = retryMilliseconds
        self.replayPageSize = max(replayPageSize, 1)
    }
}

/// Counts open SSE connections and refuses new ones beyond the global, per-session and
/// per-organization limits.
final class SSEConnectionLimiter: Sendable {
    struct Counts {
        var total = 0
        var bySession: [String: Int] = [:]
        var byOrganization: [String: Int] = [:]
    }

    /// One admitted connection; releasing it twice is harmless.
    final class Permit: Sendable {
        private let release: Mutex<(@Sendable () -> Void)?>

        init(release: @escaping @Sendable () -> Void) {
            self.release = Mutex(release)
        }

        func end() {
            let action = release.withLock { action in
                defer { action = nil }
                return action
            }
            action?()
        }

        deinit { end() }
    }

    private let limits: SSESettings
    private let counts = Mutex(Counts())

    init(limits: SSESettings) {
        self.limits = limits
    }

    func admit(sessionID: String, organizationID: String) throws(APIError) -> Permit {
        let refusal: String? = counts.withLock { counts in
            if counts.total >= limits.globalMax {
                return "The server has reached its limit of \(limits.globalMax) concurrent event streams (SSE_GLOBAL_MAX)"
            }
            if counts.bySession[sessionID, default: 0] >= limits.perSessionMax {
                return "This session already has \(limits.perSessionMax) open event streams (SSE_PER_SESSION_MAX)"
            }
            if counts.byOrganization[organizationID, default: 0] >= limits.perOrganizationMax {
                return "This organization already has \(limits.perOrganizationMax) open event streams (SSE_PER_ORG_MAX)"
            }
            counts.total += 1
            counts.bySession[sessionID, default: 0] += 1
            counts.byOrganization[organizationID, default: 0] += 1
            return nil
        }
        if let refusal { throw APIError.tooManyStreams(refusal) }
        return Permit { [weak self] in
            self?.counts.withLock { counts in
                counts.total -= 1
                counts.bySession[sessionID, default: 1] -= 1
                if counts.bySession[sessionID] == 0 { counts.bySession[sessionID] = nil }
                counts.byOrganization[organizationID, default: 1] -= 1
                if counts.byOrganization[organizationID] == 0 { counts.byOrganization[organizationID] = nil }
            }
        }
    }
}
