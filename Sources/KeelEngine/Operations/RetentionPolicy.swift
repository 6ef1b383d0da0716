import Foundation

/// How long data is kept (`SESSION_TTL_DAYS`, `EVENT_RETENTION_DAYS`; both off by default) and
/// how the sweep that deletes the rest paces itself (`RETENTION_SWEEP_INTERVAL_SECS`,
/// `RETENTION_BATCH_SIZE`).
public struct RetentionPolicy: Sendable, Hashable {
    /// Sessions idle (not running a turn) with no change for this many days are deleted whole.
    public var sessionTTLDays: Double?
    /// Events, finished turns' execution records, dead letters and operations-log entries older
    /// than this many days are deleted (a running session's events are kept).
    public var eventRetentionDays: Double?
    public var sweepInterval: Duration
    /// Rows deleted per statement; each batch is its own short transaction.
    public var batchSize: Int

    public init(
        sessionTTLDays: Double? = nil, eventRetentionDays: Double? = nil, sweepInterval: Duration = .seconds(3600),
        batchSize: Int = 500
    ) {
        self.sessionTTLDays = sessionTTLDays
        self.eventRetentionDays = eventRetentionDays
        self.sweepInterval = sweepInterval
        self.batchSize = batchSize
    }

    public var isEnabled: Bool { sessionTTLDays != nil || eventRetentionDays != nil }

    static let secondsPerDay = 86_400.0

    public func sessionCutoff(now: Date) -> Date? {
        sessionTTLDays.map { now.addingTimeInterval(-$0 * Self.secondsPerDay) }
    }

    public func eventCutoff(now: Date) -> Date? {
        eventRetentionDays.map { now.addingTimeInterval(-$0 * Self.secondsPerDay) }
    }
}
