import AsyncHTTPClient
import KeelCore
import NIOCore
import Synchronization

/// Reads a streaming response body, failing with `LLMError.timeout` when no bytes arrive for
/// `idleTimeout`.
///
/// AsyncHTTPClient's own deadline only covers the request up to the response head, and its read
/// timeout is a client-wide setting we don't own (the client is shared), so the gap between
/// chunks is watched here. Structure: one child task pulls the body into a stream, a second
/// child is the watchdog; the caller consumes the stream in its own task, so it can call
/// non-escaping closures (the driver's `onDelta`) and cancellation of the caller cancels both
/// children. Nothing outlives the call.
enum IdleTimeoutBodyReader {
    enum Disposition {
        case more, stop
    }

    static func read(
        _ body: HTTPClientResponse.Body, idleTimeout: Duration,
        _ handle: (ByteBuffer) async throws -> Disposition
    ) async throws {
        let (chunks, continuation) = AsyncThrowingStream<ByteBuffer, any Error>.makeStream()
        let activity = ActivityMark()
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                do {
                    for try await chunk in body {
                        activity.touch()
                        continuation.yield(chunk)
                    }
                    continuation.finish()
                } catch {
                    continuation.finish(throwing: error)
                }
            }
            group.addTask {
                while true {
                    do {
                        try await Task.sleep(until: activity.last + idleTimeout, clock: .continuous)
                    } catch {
                        return  // cancelled: the read is over
                    }
                    if ContinuousClock.now - activity.last >= idleTimeout {
                        continuation.finish(throwing: LLMError.timeout)
                        return
                    }
                }
            }
            defer { group.cancelAll() }
            for try await chunk in chunks {
                if try await handle(chunk) == .stop { break }
            }
            // The stream ends quietly (no error) when this task is cancelled; surface that.
            try Task.checkCancellation()
        }
    }

    /// Collects at most `limit` bytes of a (typically error) body under the same idle rule.
    static func collect(_ body: HTTPClientResponse.Body, limit: Int, idleTimeout: Duration) async throws -> String {
        var collected = ByteBuffer()
        try await read(body, idleTimeout: idleTimeout) { chunk in
            var chunk = chunk
            let room = limit - collected.readableBytes
            if let slice = chunk.readSlice(length: min(room, chunk.readableBytes)) {
                collected.writeImmutableBuffer(slice)
            }
            return collected.readableBytes >= limit ? .stop : .more
        }
        return String(buffer: collected)
    }
}

/// When the body last made progress, shared between the reader and the watchdog.
private final class ActivityMark: Sendable {
    private let instant = Mutex(ContinuousClock.now)

    var last: ContinuousClock.Instant { instant.withLock { $0 } }

    func touch() { instant.withLock { $0 = .now } }
}
