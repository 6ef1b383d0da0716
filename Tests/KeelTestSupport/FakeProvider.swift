import Foundation
import Hummingbird
import KeelCore
import Synchronization

// A stand-in for an LLM provider's HTTP API on loopback, shared by the driver tests and the
// server's end-to-end tests: it records every request and answers the n-th one with a scripted
// reply, streamed in small pieces the way a network would deliver it.

/// A request as the fake provider received it.
public struct RecordedRequest: Sendable {
    public var method: String
    public var path: String
    public var query: String?
    /// Header names lowercased.
    public var headers: [String: String]
    public var rawBody: String

    public var body: JSONValue { JSONValue.parse(rawBody) ?? .null }
}

/// What the fake answers to one request.
public struct FakeReply: Sendable {
    public enum Ending: Sendable {
        /// Ends the body normally.
        case finish
        /// Keeps the connection open without sending anything more (for cancellation and idle tests).
        case stall
        /// Aborts the response mid-body, as a dropped connection would.
        case abort
    }

    public var status: Int = 200
    public var headers: [String: String] = ["content-type": "text/event-stream"]
    /// Body pieces, each written (and flushed) separately.
    public var chunks: [ByteBuffer]
    public var gap: Duration = .milliseconds(2)
    public var ending: Ending = .finish

    public init(
        status: Int = 200, headers: [String: String] = ["content-type": "text/event-stream"], chunks: [ByteBuffer],
        gap: Duration = .milliseconds(2), ending: Ending = .finish
    ) {
        self.status = status
        self.headers = headers
        self.chunks = chunks
        self.gap = gap
        self.ending = ending
    }

    /// A streaming answer, cut into pieces of `size` bytes so events and even UTF-8 sequences
    /// straddle chunk boundaries, the way TCP may deliver them.
    public static func stream(_ wire: String, pieceSize: Int = 37, ending: Ending = .finish) -> FakeReply {
        FakeReply(chunks: split(wire, size: pieceSize), ending: ending)
    }

    public static func status(_ status: Int, body: String, headers: [String: String] = ["content-type": "application/json"]) -> FakeReply {
        FakeReply(status: status, headers: headers, chunks: [ByteBuffer(string: body)])
    }

    /// Splits at byte offsets (not characters), exactly as a network may.
    public static func split(_ text: String, size: Int) -> [ByteBuffer] {
        let bytes = Array(text.utf8)
        return stride(from: 0, to: bytes.count, by: size).map { start in
            ByteBuffer(bytes: bytes[start..<min(start + size, bytes.count)])
        }
    }
}

/// How the body of one reply ended.
public enum FakeReplyEnd: Sendable, Equatable {
    /// Every chunk was written and the ending the plan asked for was played.
    case played
    /// Writing stopped early: the client went away (or the server was stopped) mid-body.
    case cutShort(chunksWritten: Int)
}

/// Records requests; answers with the reply for the request's ordinal (0-based).
public final class FakeProviderLog: Sendable {
    private let recorded = Mutex<[RecordedRequest]>([])
    private let endings = Mutex<[Int: FakeReplyEnd]>([:])

    public var requests: [RecordedRequest] { recorded.withLock { $0 } }
    public var count: Int { recorded.withLock { $0.count } }

    fileprivate func record(_ request: RecordedRequest) -> Int {
        recorded.withLock {
            $0.append(request)
            return $0.count - 1
        }
    }

    fileprivate func recordEnd(_ ordinal: Int, _ end: FakeReplyEnd) {
        endings.withLock { $0[ordinal] = end }
    }

    /// How the body of the reply to request `ordinal` ended, once it has.
    public func end(ofReply ordinal: Int) -> FakeReplyEnd? {
        endings.withLock { $0[ordinal] }
    }

    /// Waits (bounded) until the body of the reply to request `ordinal` has ended, and says how;
    /// nil when it is still being written at the deadline. The bound is a liveness bound: it only
    /// matters when a test fails.
    public func waitForEnd(ofReply ordinal: Int, timeout: Duration = .seconds(30)) async throws -> FakeReplyEnd? {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if let end = end(ofReply: ordinal) { return end }
            try await Task.sleep(for: .milliseconds(20))
        }
        return end(ofReply: ordinal)
    }
}

/// Runs a Hummingbird server on 127.0.0.1 (ephemeral port) that plays `reply(n)` for the n-th
/// request, hands `body` its base URL, and stops the server when `body` returns.
public func withFakeProvider<Result: Sendable>(
    _ reply: @escaping @Sendable (Int) -> FakeReply,
    _ body: (_ baseURL: String, _ log: FakeProviderLog) async throws -> Result
) async throws -> Result {
    let log = FakeProviderLog()
    let router = Router()
    router.post("**") { request, _ -> Response in
        var request = request
        let bodyBuffer = try await request.collectBody(upTo: 1 << 22)
        var headers: [String: String] = [:]
        for field in request.headers { headers[field.name.canonicalName.lowercased()] = field.value }
        let ordinal = log.record(
            RecordedRequest(
                method: "\(request.method)", path: request.uri.path, query: request.uri.query, headers: headers,
                rawBody: String(buffer: bodyBuffer)))
        let plan = reply(ordinal)
        var responseHeaders = HTTPFields()
        for (name, value) in plan.headers {
            if let fieldName = HTTPFields.Element.Name(name) { responseHeaders[fieldName] = value }
        }
        return Response(
            status: .init(code: plan.status), headers: responseHeaders,
            body: ResponseBody { writer in
                // A write to a client that went away throws (and a stopped server cancels the
                // writer): either way the body ends before its plan did, which tests can observe.
                var written = 0
                var played = false
                defer { log.recordEnd(ordinal, played ? .played : .cutShort(chunksWritten: written)) }
                for (index, chunk) in plan.chunks.enumerated() {
                    // Simulated network latency between pieces, not synchronisation.
                    if index > 0 { try await Task.sleep(for: plan.gap) }
                    try await writer.write(chunk)
                    written += 1
                }
                switch plan.ending {
                case .finish:
                    try await writer.finish(nil)
                    played = true
                case .stall:
                    try await Task.sleep(for: .seconds(30))
                    played = true
                case .abort:
                    // Give the client time to receive what was written, then drop the connection.
                    // Data already written reaches the client before the close in any case; the
                    // pause only keeps the drop clearly after it.
                    try await Task.sleep(for: .milliseconds(100))
                    played = true
                    throw FakeProviderAbort()
                }
            })
    }
    return try await LoopbackServer.run(router, label: "fake-provider") { baseURL, _ in try await body(baseURL, log) }
}

public struct FakeProviderAbort: Error {}
