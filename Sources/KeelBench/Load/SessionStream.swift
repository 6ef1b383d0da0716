import AsyncHTTPClient
import NIOCore
import Synchronization

/// One session's SSE connection (`GET /v1/sessions/{id}/sse`), held open for the whole run.
///
/// The reader scans each frame's `event:` line only: terminal events go to the `TurnTracker`,
/// everything else is counted. When the server ends the stream — its `disconnecting` frame on a
/// connection cycle or shutdown, or a dropped connection — the reader reconnects with
/// `Last-Event-ID` (the last `id:` it saw), so every event is seen exactly once. It gives up, and
/// fails the tracker, after `maxReconnectAttempts` failed attempts in a row.
///
/// In the `stream` scenario it also reads the `TokenStamp`s in `output.message.delta` frames and
/// keeps, per token, the time from the mock's write to this read (`takeTokenLatencies`).
public final class SessionStream: Sendable {
    public static let terminalEvents: Set<String> = ["turn.completed", "turn.failed", "turn.cancelled"]
    static let maxReconnectAttempts = 5

    public let sessionID: String
    public let tracker = TurnTracker()
    private let api: BenchAPI
    private let counters = Mutex(Counters())
    private let reader = Mutex<Task<Void, Never>?>(nil)
    private let tokenLatencies = Mutex<[Duration]>([])

    public struct Counters: Sendable, Equatable {
        /// Session events read (frames with an id), terminal ones included.
        public var events = 0
        public var reconnects = 0
    }

    public init(api: BenchAPI, sessionID: String) {
        self.api = api
        self.sessionID = sessionID
    }

    public var counts: Counters { counters.withLock { $0 } }

    /// The token latencies read since the last call, and forgets them.
    public func takeTokenLatencies() -> [Duration] {
        tokenLatencies.withLock { latencies in
            defer { latencies = [] }
            return latencies
        }
    }

    /// Connects (the response head arrived with 200) and starts reading in the background.
    public func open() async throws {
        let response = try await connect(lastEventID: nil)
        let task = Task { await self.read(from: response) }
        reader.withLock { $0 = task }
    }

    public func close() {
        reader.withLock { $0 }?.cancel()
    }

    private func connect(lastEventID: String?) async throws -> HTTPClientResponse {
        var headers = [("Accept", "text/event-stream")]
        if let lastEventID { headers.append(("Last-Event-ID", lastEventID)) }
        let request = api.request(.GET, "/v1/sessions/\(sessionID)/sse", headers: headers)
        let response = try await api.client.execute(request, timeout: .seconds(30))
        guard response.status == .ok else {
            let body = try? await response.body.collect(upTo: 4096)
            throw BenchError.stream("SSE \(sessionID): \(response.status.code) \(body.map { String(buffer: $0) } ?? "")")
        }
        return response
    }

    private func read(from first: HTTPClientResponse) async {
        var response = first
        var parser = SSEFrameParser()
        while !Task.isCancelled {
            do {
                for try await buffer in response.body {
                    let now = ContinuousClock.now
                    let stampNow = TokenStamp.now()
                    for frame in parser.consume(buffer.readableBytesView) { handle(frame, at: now, stampNow: stampNow) }
                }
            } catch {
                if Task.isCancelled { return }
            }
            // The stream ended (cycled, shut down or dropped): resume after the last event seen.
            parser = SSEFrameParser(lastEventID: parser.lastEventID)
            guard let next = await reconnect(lastEventID: parser.lastEventID) else { return }
            response = next
        }
    }

    private func reconnect(lastEventID: String?) async -> HTTPClientResponse? {
        var lastError: any Error = BenchError.stream("SSE \(sessionID) ended")
        for attempt in 0..<Self.maxReconnectAttempts {
            if Task.isCancelled { return nil }
            if attempt > 0 { try? await Task.sleep(for: .milliseconds(100 << attempt)) }
            do {
                let response = try await connect(lastEventID: lastEventID)
                counters.withLock { $0.reconnects += 1 }
                return response
            } catch {
                lastError = error
            }
        }
        tracker.fail(BenchError.stream("SSE \(sessionID) lost after \(Self.maxReconnectAttempts) reconnect attempts: \(lastError)"))
        return nil
    }

    private func handle(_ frame: SSEFrame, at instant: ContinuousClock.Instant, stampNow: UInt64) {
        // Stored events carry an id; `connected` and `disconnecting` are the stream's own frames.
        guard frame.id != nil else { return }
        counters.withLock { $0.events += 1 }
        if frame.event == "output.message.delta" {
            let stamps = TokenStamp.scanDelta(frame.data)
            if !stamps.isEmpty {
                tokenLatencies.withLock { latencies in
                    for stamp in stamps where stamp <= stampNow { latencies.append(.nanoseconds(Int64(stampNow - stamp))) }
                }
            }
        }
        guard Self.terminalEvents.contains(frame.event) else { return }
        let detail = frame.event == "turn.completed" ? "" : String(frame.dataText.prefix(300))
        tracker.recordTerminal(event: frame.event, at: instant, detail: detail)
    }
}
