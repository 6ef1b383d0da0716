import Foundation
import KeelCore

extension AgentProtocolService {
    /// `events(check:)`: read the log; `check` when the session may be gone (not after a plain append).
    private enum Wake: Sendable { case events(check: Bool), heartbeat }

    /// Follows the run from the session's log until it ends: every stream part in order,
    /// numbered from 1 (`metadata`) to the last (`end`); parts numbered up to `afterPart` are
    /// skipped (a `Last-Event-ID` reconnect). Woken by appends, never by polling; `onHeartbeat`
    /// runs every `heartbeat` while nothing happens. Returns the projection at the end — or when
    /// the thread was deleted meanwhile, unfinished.
    public func follow(
        _ run: RunRef, modes: [String]? = nil, afterPart: Int = 0, heartbeat: Duration? = nil,
        emit: (Int, StreamPart) async throws -> Void, onHeartbeat: () async throws -> Void = {}
    ) async throws -> RunProjector {
        let session = run.thread.session
        // Subscribe before the first read so an append between the read and the wait still wakes us.
        let appends = store.eventSignals.subscribe(sessionID: session.id)
        var projector = RunProjector(runID: run.id, run: run.data, modes: modes, failures: failures)
        var number = 0
        func send(_ part: StreamPart) async throws {
            number += 1
            if number > afterPart { try await emit(number, part) }
        }
        try await send(projector.metadataPart())
        var cursor = 0
        let (wakes, wake) = AsyncStream<Wake>.makeStream(bufferingPolicy: .bufferingNewest(4))
        return try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                for await signal in appends { wake.yield(.events(check: signal == .changed)) }
            }
            if let heartbeat {
                group.addTask {
                    while true {
                        try await Task.sleep(for: heartbeat)
                        wake.yield(.heartbeat)
                    }
                }
            }
            defer { group.cancelAll() }
            var woken = Wake.events(check: true)
            var iterator = wakes.makeAsyncIterator()
            while true {
                switch woken {
                case .heartbeat:
                    try await onHeartbeat()
                case .events(let check):
                    let events = try await allEvents(
                        sessionID: session.id, organizationID: session.organizationID, after: cursor)
                    if events.isEmpty, check,
                        try await store.session(id: session.id, organizationID: session.organizationID) == nil
                    {
                        return projector
                    }
                    for event in events {
                        for part in projector.feed(event) { try await send(part) }
                        cursor = event.sequence
                        if projector.isFinished { break }
                    }
                    if projector.isFinished {
                        try await send(projector.endPart())
                        return projector
                    }
                }
                guard let next = await iterator.next() else { return projector }
                woken = next
            }
        }
    }

    /// Waits for the run to end (woken by the engine's appends): its final projection.
    public func join(_ run: RunRef, heartbeat: Duration? = nil, onHeartbeat: () async throws -> Void = {}) async throws
        -> RunProjector
    {
        try await follow(run, modes: [], heartbeat: heartbeat, emit: { _, _ in }, onHeartbeat: onHeartbeat)
    }

    /// Parses a `Last-Event-ID` of this run (`<run_id>_event_<n>`): the parts to skip.
    public static func partNumber(lastEventID: String?, runID: String) -> Int {
        guard let lastEventID, lastEventID.hasPrefix(runID + "_event_") else { return 0 }
        return Int(lastEventID.dropFirst(runID.count + "_event_".count)) ?? 0
    }

    /// What a stream's end leaves to do: an ephemeral thread is deleted once its run ended.
    public func finishStateless(_ run: RunRef, _ projector: RunProjector) async {
        guard run.thread.data.ephemeral == true, projector.isFinished else { return }
        let session = run.thread.session
        do {
            guard try await store.session(id: session.id, organizationID: session.organizationID) != nil else { return }
            try await deleteThread(run.thread)
        } catch {
            logger.warning("ephemeral thread not deleted", metadata: ["thread_id": "\(run.thread.id)", "error": "\(error)"])
        }
    }
}

extension AgentProtocolService {
    /// A `/runs/stream` client went away before the run ended: with `on_disconnect: cancel` (the
    /// default) the run is cancelled — by the completion service, as this request is ending.
    public func clientDisconnected(from run: RunRef) {
        guard run.data.onDisconnect == "cancel" else { return }
        completions?.cancel(organizationID: run.thread.session.organizationID, threadID: run.thread.id, runID: run.id)
    }

    /// The run as its thread's log shows it now.
    public func projection(of run: RunRef) async throws -> RunProjector {
        try await projections([run]).first ?? freshProjection(run)
    }

    /// A run just created: pending (or running, for a resume) with nothing read yet.
    public func freshProjection(_ run: RunRef) -> RunProjector {
        RunProjector(runID: run.id, run: run.data, failures: failures)
    }
}
