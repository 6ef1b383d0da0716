/// Drives a set of sessions: opens one SSE stream each, runs the warm-up turns, then releases all
/// sessions at once for the measured turns and gathers what they came to.
///
/// The caller takes its measurements (CPU, RSS, SQL statements) just before and just after
/// `measure`, so the warm-up and the setup stay out of them.
public struct LoadGenerator: Sendable {
    private var drivers: [SessionDriver]
    private let streams: [SessionStream]

    /// Opens the sessions' streams (all of them at once); if one cannot be opened, closes the others.
    public static func open(api: BenchAPI, sessionIDs: [String], text: String, turnTimeout: Duration) async throws -> LoadGenerator {
        let streams = sessionIDs.map { SessionStream(api: api, sessionID: $0) }
        do {
            try await withThrowingTaskGroup(of: Void.self) { group in
                for stream in streams { group.addTask { try await stream.open() } }
                try await group.waitForAll()
            }
        } catch {
            for stream in streams { stream.close() }
            throw error
        }
        return LoadGenerator(
            drivers: streams.map { SessionDriver(api: api, stream: $0, text: text, turnTimeout: turnTimeout) },
            streams: streams)
    }

    public func close() {
        for stream in streams { stream.close() }
    }

    /// Runs `turns` unmeasured turns in every session; any error fails the warm-up (the deployment
    /// is not working, and measuring it would say nothing).
    public mutating func warmUp(turns: Int, until deadline: ContinuousClock.Instant) async throws {
        guard turns > 0 else { return }
        let records = await runAll(turns: turns, until: deadline)
        if let error = records.lazy.flatMap(\.errors).first {
            let failed = records.filter { !$0.errors.isEmpty }.count
            throw BenchError.api("warm-up: \(failed) of \(records.count) sessions had errors, e.g. \(error)")
        }
    }

    /// The measured phase: every session runs `turns` turns, all starting together.
    public mutating func measure(turns: Int, until deadline: ContinuousClock.Instant) async -> LoadOutcome {
        let eventsBefore = streams.reduce(0) { $0 + $1.counts.events }
        for stream in streams { _ = stream.takeTokenLatencies() }
        let started = ContinuousClock.now
        let records = await runAll(turns: turns, until: deadline)
        let wall = started.duration(to: .now)
        let counts = streams.map(\.counts)
        return LoadOutcome(
            latencies: records.flatMap(\.latencies), errors: records.flatMap(\.errors), wall: wall,
            cutShort: records.contains { $0.cutShort }, abandonedSessions: records.filter(\.abandoned).count,
            streamEvents: counts.reduce(0) { $0 + $1.events } - eventsBefore,
            reconnects: counts.reduce(0) { $0 + $1.reconnects },
            tokenLatencies: streams.flatMap { $0.takeTokenLatencies() })
    }

    private mutating func runAll(turns: Int, until deadline: ContinuousClock.Instant) async -> [SessionRecord] {
        let current = drivers
        let finished = await withTaskGroup(of: (Int, SessionDriver, SessionRecord).self) { group in
            for (index, driver) in current.enumerated() {
                group.addTask {
                    var driver = driver
                    let record = await driver.run(turns: turns, until: deadline)
                    return (index, driver, record)
                }
            }
            var results: [(Int, SessionDriver, SessionRecord)] = []
            for await result in group { results.append(result) }
            return results.sorted { $0.0 < $1.0 }
        }
        drivers = finished.map(\.1)
        return finished.map(\.2)
    }
}

/// What the measured phase came to, across all sessions.
public struct LoadOutcome: Sendable {
    public var latencies: [Duration]
    public var errors: [String]
    public var wall: Duration
    /// The deadline ended the phase before every turn ran.
    public var cutShort: Bool
    public var abandonedSessions: Int
    /// SSE frames the streams read during the phase (terminal ones included).
    public var streamEvents: Int
    public var reconnects: Int
    /// Per streamed token (the `stream` scenario): the mock's write to the client's read.
    public var tokenLatencies: [Duration] = []
}
