import KeelTestSupport
import Foundation
import Hummingbird
import KeelCore
import Logging
import NIOCore
import Synchronization

/// A stand-in for an LLM provider's HTTP API on loopback: records every request and answers the
/// n-th one with the n-th scripted reply, streaming it in small pieces the way a network would.
final class FakeProviderServer: Sendable {
    /// A request as the fake received it.
    struct Recorded: Sendable {
        var method: String
        var path: String
        var query: String?
        /// Header names lowercased.
        var headers: [String: String]
        var rawBody: String

        var body: JSONValue { JSONValue.parse(rawBody) ?? .null }
    }

    /// What the fake answers to one request.
    struct Reply: Sendable {
        var status: Int = 200
        var headers: [String: String] = ["content-type": "text/event-stream"]
        /// Written (and flushed) one by one.
        var pieces: [ByteBuffer]
        var gap: Duration = .milliseconds(1)

        /// A streamed answer: the events back to back, then cut at byte offsets (not characters)
        /// so events, lines and even UTF-8 sequences straddle writes, as TCP may deliver them.
        static func stream(_ events: [String], pieceSize: Int = 61) -> Reply {
            let bytes = Array(events.joined().utf8)
            let pieces = stride(from: 0, to: bytes.count, by: pieceSize).map { start in
                ByteBuffer(bytes: bytes[start..<min(start + pieceSize, bytes.count)])
            }
            return Reply(pieces: pieces)
        }

        static func status(_ status: Int, json body: String) -> Reply {
            Reply(status: status, headers: ["content-type": "application/json"], pieces: [ByteBuffer(string: body)])
        }
    }

    /// What is answered to a request beyond the script.
    static let unscripted = Reply.status(
        500, json: #"{"error":{"message":"fake provider: unscripted request","type":"server_error"}}"#)

    private let script: [Reply]
    private let recorded = Mutex<[Recorded]>([])

    private init(script: [Reply]) {
        self.script = script
    }

    var requests: [Recorded] { recorded.withLock { $0 } }

    private func record(_ request: Recorded) -> Reply {
        let ordinal = recorded.withLock {
            $0.append(request)
            return $0.count - 1
        }
        return ordinal < script.count ? script[ordinal] : Self.unscripted
    }

    /// Runs the fake on 127.0.0.1 (ephemeral port), hands `body` the fake and its base URL
    /// (`http://127.0.0.1:<port>`), and stops it when `body` returns or throws.
    static func run<T: Sendable>(
        script: [Reply], _ body: (_ fake: FakeProviderServer, _ baseURL: String) async throws -> T
    ) async throws -> T {
        let fake = FakeProviderServer(script: script)
        let router = Router()
        router.post("**") { request, _ -> Response in
            var request = request
            let collected = try await request.collectBody(upTo: 1 << 22)
            var headers: [String: String] = [:]
            for field in request.headers { headers[field.name.canonicalName.lowercased()] = field.value }
            let reply = fake.record(
                Recorded(
                    method: "\(request.method)", path: request.uri.path, query: request.uri.query, headers: headers,
                    rawBody: String(buffer: collected)))
            var responseHeaders = HTTPFields()
            for (name, value) in reply.headers {
                if let fieldName = HTTPFields.Element.Name(name) { responseHeaders[fieldName] = value }
            }
            return Response(
                status: .init(code: reply.status), headers: responseHeaders,
                body: ResponseBody { writer in
                    for (index, piece) in reply.pieces.enumerated() {
                        if index > 0 { try await Task.sleep(for: reply.gap) }
                        try await writer.write(piece)
                    }
                    try await writer.finish(nil)
                })
        }
        return try await LoopbackServer.run(router, label: "fake-provider") { baseURL, _ in try await body(fake, baseURL) }
    }
}

