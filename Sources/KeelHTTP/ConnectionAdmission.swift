import Logging
import Synchronization

/// Counts open HTTP connections against `HTTP_MAX_CONNECTIONS`. Refusals are logged at most once
/// every ten seconds, with how many there were, so a flood cannot flood the log as well.
final class ConnectionAdmission: Sendable {
    private struct State {
        var open = 0
        var refusedSinceLog = 0
        var lastLog: ContinuousClock.Instant?
    }

    static let logInterval = Duration.seconds(10)

    let maxConnections: Int
    private let logger: Logger
    private let state = Mutex(State())

    init(maxConnections: Int, logger: Logger) {
        self.maxConnections = maxConnections
        self.logger = logger
    }

    /// Takes a slot for a new connection; false when all are taken (the caller refuses it).
    func admit() -> Bool {
        let maxConnections = maxConnections
        let (admitted, refusalsToLog) = state.withLock { state -> (Bool, Int?) in
            if state.open < maxConnections {
                state.open += 1
                return (true, nil)
            }
            state.refusedSinceLog += 1
            let now = ContinuousClock.now
            if let last = state.lastLog, now - last < Self.logInterval { return (false, nil) }
            state.lastLog = now
            defer { state.refusedSinceLog = 0 }
            return (false, state.refusedSinceLog)
        }
        if let refusalsToLog {
            logger.warning(
                "HTTP connections refused: HTTP_MAX_CONNECTIONS reached",
                metadata: ["max_connections": "\(maxConnections)", "refused": "\(refusalsToLog)"])
        }
        return admitted
    }

    /// Frees the slot of a connection that closed.
    func release() {
        state.withLock { $0.open -= 1 }
    }
}
