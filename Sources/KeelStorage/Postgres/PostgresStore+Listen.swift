import KeelCore
import Logging
import PostgresNIO
import Synchronization

/// The LISTEN side: a dedicated connection per channel set, outside the pool, that turns other
/// instances' NOTIFYs into local wake-ups.
extension PostgresStore {
    /// The LISTEN loop for event appends.
    func listenForEvents() async {
        await listen(on: [Self.eventChannel], onListening: { self.listening.open() }) { _, payload in
            // `session_id:sequence` since storage migration 4; a bare session id (an older
            // instance's trigger) is a change of unknown extent.
            if let colon = payload.lastIndex(of: ":"), let sequence = Int(payload[payload.index(after: colon)...]) {
                self.eventSignals.notifyAppended(sessionID: String(payload[..<colon]), through: sequence)
            } else {
                self.eventSignals.notify(sessionID: payload)
            }
        }
    }

    /// Listens on `channels` until cancelled: one dedicated connection (outside the pool),
    /// re-established with backoff when it drops. `onListening` runs each time the listeners are
    /// in place; notifications from this instance come back too.
    package func listen(
        on channels: [String], onListening: @escaping @Sendable () -> Void = {},
        _ handle: @escaping @Sendable (_ channel: String, _ payload: String) -> Void
    ) async {
        let backoff = Backoff(initial: .milliseconds(100), maximum: .seconds(5))
        var failures = 0
        while !Task.isCancelled {
            do {
                let connection = try await PostgresConnection.connect(
                    configuration: configuration.connectionConfiguration(applicationName: "keel-listener"),
                    id: connectionIDs.add(1, ordering: .relaxed).newValue, logger: logger)
                do {
                    try await withThrowingTaskGroup(of: Void.self) { group in
                        let ready = ListenerCount()
                        for channel in channels {
                            group.addTask {
                                try await connection.listen(on: channel) { notifications in
                                    if ready.increment() == channels.count { onListening() }
                                    for try await notification in notifications { handle(channel, notification.payload) }
                                }
                            }
                        }
                        // One listener ending means the connection is gone: restart them all.
                        try await group.next()
                        group.cancelAll()
                    }
                    failures = 0
                } catch where !Task.isCancelled {
                    logger.warning("LISTEN connection lost", metadata: ["error": "\(Self.describe(error))"])
                } catch {}
                try? await connection.close()
            } catch where !Task.isCancelled {
                logger.warning("cannot open the LISTEN connection", metadata: ["error": "\(Self.describe(error))"])
            } catch {}
            guard !Task.isCancelled else { break }
            try? await Task.sleep(for: backoff.delay(forRetry: failures))
            failures += 1
        }
    }
}

/// Counts the channels whose LISTEN is in place.
private final class ListenerCount: Sendable {
    private let count = Atomic<Int>(0)

    func increment() -> Int { count.add(1, ordering: .relaxed).newValue }
}
