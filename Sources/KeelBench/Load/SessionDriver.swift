import NIOCore

/// Runs one session's turns, one after another: POST the message, then wait for the turn's
/// terminal event on the session's stream. A turn's latency is the time from the start of its POST
/// to the moment the reader saw its `turn.completed` frame.
public struct SessionDriver: Sendable {
    public let api: BenchAPI
    public let stream: SessionStream
    public let messageBody: ByteBuffer
    public let turnTimeout: Duration

    /// Turns run so far (each one posted and answered by a terminal event).
    private var posted = 0

    public init(api: BenchAPI, stream: SessionStream, text: String, turnTimeout: Duration) {
        self.api = api
        self.stream = stream
        self.turnTimeout = turnTimeout
        self.messageBody = ByteBuffer(string: Self.messageJSON(text))
    }

    /// The `POST /messages` body: one user message with one text part.
    static func messageJSON(_ text: String) -> String {
        #"{"message":{"role":"user","content":[{"type":"text","text":\#(JSONText.quoted(text))}]}}"#
    }

    /// Runs up to `count` turns, stopping early at `deadline`, or when the session cannot go on
    /// (a timeout or a lost stream: its later terminal events could no longer be told apart).
    public mutating func run(turns count: Int, until deadline: ContinuousClock.Instant) async -> SessionRecord {
        var record = SessionRecord()
        for _ in 0..<count {
            if ContinuousClock.now >= deadline {
                record.cutShort = true
                break
            }
            if Task.isCancelled { break }
            let started = ContinuousClock.now
            do {
                let status = try await api.post("/v1/sessions/\(stream.sessionID)/messages", body: messageBody)
                guard status == 201 else {
                    record.errors.append("POST messages: \(status)")
                    continue
                }
                posted += 1
                let outcome = try await stream.tracker.outcome(ofTurn: posted, timeout: turnTimeout)
                if outcome.succeeded {
                    record.latencies.append(started.duration(to: outcome.receivedAt))
                } else {
                    record.errors.append("\(outcome.event): \(outcome.detail)")
                }
            } catch {
                if Task.isCancelled { break }  // the run is being stopped: not the server's error
                record.errors.append("\(error)")
                record.abandoned = true
                break
            }
        }
        return record
    }
}

/// What one session's turns came to.
public struct SessionRecord: Sendable {
    public var latencies: [Duration] = []
    public var errors: [String] = []
    /// The deadline stopped the session before all its turns ran.
    public var cutShort = false
    /// The session stopped after an error it could not get past.
    public var abandoned = false

    public init() {}
}
