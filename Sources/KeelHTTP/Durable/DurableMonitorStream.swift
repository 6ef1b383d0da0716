import Foundation
import Hummingbird
import KeelCore
import KeelEngine
import ServiceLifecycle

/// One `/v1/durable/monitor/sse` connection: `connected`, the operations events after the resume
/// cursor (`since_id` / `Last-Event-ID`; without one, only what happens from now on), a
/// `snapshot` at once and every snapshot interval, each new operations event as it is logged,
/// heartbeats, and `disconnecting` after `SSE_MONITORING_CYCLE_SECS` (jittered like session
/// streams) or on shutdown. Change events carry their log id as the SSE id; snapshots carry none,
/// so a client resuming with its last id misses no change.
struct DurableMonitorStream: Sendable {
    let operations: any OperationsStore
    let engine: TurnControl
    let scope: OperationsScope
    let after: Int64?
    let settings: SSESettings
    let snapshotInterval: Duration
    let permit: SSEConnectionLimiter.Permit

    /// The retry hint of a monitoring stream: operators' dashboards need no 100 ms reconnects.
    static let retryMilliseconds = 1000
    /// How often the operations log is read for new entries.
    static let pollInterval: Duration = .seconds(1)
    static let pageSize = 200

    private enum Wake: Sendable {
        case poll, snapshot, heartbeat, cycle, shutdown
    }

    func write(to writer: inout some ResponseBodyWriter) async throws {
        defer { permit.end() }
        try await writer.write(
            ByteBuffer(string: "retry: \(Self.retryMilliseconds)\nevent: connected\ndata: {\"status\":\"connected\"}\n\n"))
        var cursor: Int64
        if let after { cursor = after } else { cursor = try await operations.latestEventID() }
        let (wakes, wake) = AsyncStream<Wake>.makeStream()
        try await withGracefulShutdownHandler {
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await Self.tick(every: Self.pollInterval) { wake.yield(.poll) } }
                group.addTask { try await Self.tick(every: snapshotInterval) { wake.yield(.snapshot) } }
                group.addTask { try await Self.tick(every: settings.heartbeatInterval) { wake.yield(.heartbeat) } }
                group.addTask {
                    let jitter = Double.random(in: -settings.cycleJitter...settings.cycleJitter)
                    try await Task.sleep(for: settings.monitoringCycle * (1 + jitter))
                    wake.yield(.cycle)
                }
                defer { group.cancelAll() }
                cursor = try await writeChanges(after: cursor, to: &writer)
                try await writeSnapshot(to: &writer)
                for await reason in wakes {
                    switch reason {
                    case .poll:
                        cursor = try await writeChanges(after: cursor, to: &writer)
                    case .snapshot:
                        try await writeSnapshot(to: &writer)
                    case .heartbeat:
                        try await writer.write(ByteBuffer(string: ": heartbeat\n\n"))
                    case .cycle:
                        try await writeDisconnecting(reason: "connection_cycle", to: &writer)
                        return
                    case .shutdown:
                        try await writeDisconnecting(reason: "server_shutdown", to: &writer)
                        return
                    }
                }
            }
        } onGracefulShutdown: {
            wake.yield(.shutdown)
        }
        try await writer.finish(nil)
    }

    private static func tick(every interval: Duration, _ body: @Sendable () -> Void) async throws {
        while true {
            try await Task.sleep(for: interval)
            body()
        }
    }

    private func writeChanges(after cursor: Int64, to writer: inout some ResponseBodyWriter) async throws -> Int64 {
        var cursor = cursor
        while true {
            let events = try await operations.events(after: cursor, scope, limit: Self.pageSize)
            guard let last = events.last else { return cursor }
            var buffer = ByteBuffer()
            for event in events {
                buffer.writeString("event: \(event.type)\nid: \(event.id)\ndata: ")
                buffer.writeBytes(try OperationsJSON.encoder.encode(event))
                buffer.writeString("\n\n")
            }
            try await writer.write(buffer)
            cursor = last.id
            if events.count < Self.pageSize { return cursor }
        }
    }

    private func writeSnapshot(to writer: inout some ResponseBodyWriter) async throws {
        let snapshot = try await DurableSnapshot.make(operations: operations, engine: engine, scope: scope)
        var buffer = ByteBuffer(string: "event: snapshot\ndata: ")
        buffer.writeBytes(try OperationsJSON.encoder.encode(snapshot))
        buffer.writeString("\n\n")
        try await writer.write(buffer)
    }

    private func writeDisconnecting(reason: String, to writer: inout some ResponseBodyWriter) async throws {
        let data = "{\"reason\":\"\(reason)\",\"retry_ms\":\(Self.retryMilliseconds)}"
        try await writer.write(ByteBuffer(string: "event: disconnecting\ndata: \(data)\n\n"))
    }
}

/// What a monitoring snapshot holds: the queue summary, the live workers (platform scope) and
/// the breakers that are not closed.
struct DurableSnapshot: Encodable {
    var at: Date
    var queue: QueueSummary
    var workers: [WorkerRecord]?
    var circuitBreakers: [CircuitBreakerBody]

    static func make(operations: any OperationsStore, engine: TurnControl, scope: OperationsScope) async throws
        -> DurableSnapshot
    {
        let staleAfter = engine.policy.staleThreshold
        let queue = try await operations.queueSummary(scope, staleAfter: staleAfter)
        let workers = scope == .platform ? try await operations.workers(includeGone: false, staleAfter: staleAfter) : nil
        let breakers: [CircuitBreakerBody] =
            if let breakers = engine.breakers {
                try await breakers.breakers(visibleTo: scope.organizationID).filter { $0.state != .closed }
                    .map { CircuitBreakerBody($0, policy: breakers.policy) }
            } else { [] }
        return DurableSnapshot(at: Date(), queue: queue, workers: workers, circuitBreakers: breakers)
    }
}
