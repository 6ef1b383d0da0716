import Foundation
import Hummingbird
import Logging

/// The OpenAI-protocol mock: a Hummingbird server so that the provider I/O of a `tool` benchmark
/// turn is real HTTP, in a process of its own (`keel-bench mock-openai`).
///
/// Routes: `POST /v1/chat/completions` (streamed `chat.completion.chunk` frames, or one
/// `chat.completion`; `MockReply` decides the answer), `GET /v1/models` (OpenAI's list format),
/// `GET /health`, `GET /stats` (the counters), and `POST /v1/traces` and
/// `POST /api/public/otel/v1/traces` (an OTLP/HTTP sink for the `memory-traced` mode: counted,
/// answered with an empty export response, otherwise ignored). The answer is built before the
/// first byte and written frame by frame with no sleeps — except the stamped pieces of the
/// `stream` scenario, each stamped and written at its time — so hundreds of concurrent streams
/// cost little.
public struct MockOpenAIServer: Sendable {
    public static let modelName = "bench-model"

    public let textChunks: Int
    let pacing: MockReply.Pacing
    public let stats: MockOpenAIStats

    /// `streamPieces` stamped pieces `streamInterval` apart answer a `keel-bench stream` message.
    public init(
        textChunks: Int = 8, streamPieces: Int = 20, streamInterval: Duration = .milliseconds(5),
        stats: MockOpenAIStats = MockOpenAIStats()
    ) {
        self.textChunks = textChunks
        self.pacing = MockReply.Pacing(pieces: streamPieces, interval: streamInterval)
        self.stats = stats
    }

    public func router() -> Router<BasicRequestContext> {
        let router = Router()
        router.get("health") { _, _ in "ok" }
        router.get("stats") { _, _ in
            json(String(decoding: try JSONEncoder().encode(stats.snapshot), as: UTF8.self))
        }
        router.get("v1/models") { _, _ in
            json(#"{"object":"list","data":[{"id":"\#(Self.modelName)","object":"model","created":1700000000,"owned_by":"keel-bench"}]}"#)
        }
        router.post("v1/chat/completions") { request, _ in
            try await complete(request)
        }
        for path in ["v1/traces", "api/public/otel/v1/traces"] {
            router.post(RouterPath(path)) { request, _ in
                let body = try await request.body.collect(upTo: 64 << 20)
                stats.recordTraceExport(bytes: body.readableBytes)
                return Response(
                    status: .ok, headers: [.contentType: "application/x-protobuf"], body: ResponseBody(byteBuffer: ByteBuffer()))
            }
        }
        return router
    }

    /// Serves on host:port until SIGTERM or SIGINT; `onStarted` gets the bound port.
    public func run(host: String, port: Int, logger: Logger, onStarted: @escaping @Sendable (Int) -> Void) async throws {
        let app = Application(
            router: router(), configuration: .init(address: .hostname(host, port: port), serverName: nil),
            onServerRunning: { channel in onStarted(channel.localAddress?.port ?? port) },
            logger: logger)
        try await app.runService()
    }

    private func complete(_ request: Request) async throws -> Response {
        let body = try await request.body.collect(upTo: 64 << 20)
        guard let chat = try? JSONDecoder().decode(MockChatRequest.self, from: Data(body.readableBytesView)) else {
            stats.recordRejected()
            return json(
                #"{"error":{"message":"keel-bench mock: unreadable chat completion request","type":"invalid_request_error","param":null,"code":null}}"#,
                status: .badRequest)
        }
        let streamed = chat.stream ?? false
        let reply = MockReply.decide(for: chat, textChunks: textChunks, pacing: pacing)
        let sequence = stats.record(reply, streamed: streamed)
        let chunks = ChatCompletionChunks(
            completionID: "chatcmpl-bench\(sequence)", callID: "call_bench\(sequence)",
            created: Int(Date().timeIntervalSince1970), model: chat.model ?? Self.modelName,
            includeUsage: chat.includeUsage, promptTokens: max(1, body.readableBytes / 4))
        guard streamed else { return json(chunks.completion(for: reply)) }
        let frames = chunks.streamFrames(for: reply)
        return Response(
            status: .ok, headers: [.contentType: "text/event-stream", .cacheControl: "no-cache"],
            body: ResponseBody { writer in
                guard case .stampedText(let count, let interval) = reply, let opening = frames.first else {
                    for frame in frames { try await writer.write(ByteBuffer(string: frame)) }
                    return try await writer.finish(nil)
                }
                try await writer.write(ByteBuffer(string: opening))
                for _ in 0..<count {
                    try await Task.sleep(for: interval)
                    try await writer.write(ByteBuffer(string: chunks.contentFrame(TokenStamp.text(TokenStamp.now()))))
                }
                for frame in frames.dropFirst() { try await writer.write(ByteBuffer(string: frame)) }
                try await writer.finish(nil)
            })
    }

    private func json(_ text: String, status: HTTPResponse.Status = .ok) -> Response {
        Response(status: status, headers: [.contentType: "application/json"], body: ResponseBody(byteBuffer: ByteBuffer(string: text)))
    }
}
