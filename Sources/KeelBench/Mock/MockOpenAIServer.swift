import Foundation
import Hummingbird
import Logging

/// The OpenAI-protocol mock: a Hummingbird server so that the provider I/O of a `tool` benchmark
/// turn is real HTTP, in a process of its own (`keel-bench mock-openai`).
///
/// Routes: `POST /v1/chat/completions` (streamed `chat.completion.chunk` frames, or one
/// `chat.completion`; `MockReply` decides the answer), `GET /v1/models` (OpenAI's list format),
/// `GET /health`, and `GET /stats` (the counters). The answer is built before the first byte and
/// written frame by frame with no sleeps, so hundreds of concurrent streams cost little.
public struct MockOpenAIServer: Sendable {
    public static let modelName = "bench-model"

    public let textChunks: Int
    public let stats: MockOpenAIStats

    public init(textChunks: Int = 8, stats: MockOpenAIStats = MockOpenAIStats()) {
        self.textChunks = textChunks
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
        let reply = MockReply.decide(for: chat, textChunks: textChunks)
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
                for frame in frames { try await writer.write(ByteBuffer(string: frame)) }
                try await writer.finish(nil)
            })
    }

    private func json(_ text: String, status: HTTPResponse.Status = .ok) -> Response {
        Response(status: status, headers: [.contentType: "application/json"], body: ResponseBody(byteBuffer: ByteBuffer(string: text)))
    }
}
