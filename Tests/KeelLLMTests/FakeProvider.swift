import KeelTestSupport
import Foundation
import Hummingbird
import KeelCore
import KeelLLM
import Synchronization

/// A request as the fake provider received it.
struct RecordedRequest: Sendable {
    var method: String
    var path: String
    var query: String?
    /// Header names lowercased.
    var headers: [String: String]
    var rawBody: String

    var body: JSONValue { JSONValue.parse(rawBody) ?? .null }
}

/// What the fake answers to one request.
struct FakeReply: Sendable {
    enum Ending: Sendable {
        /// Ends the body normally.
        case finish
        /// Keeps the connection open without sending anything more (for cancellation and idle tests).
        case stall
        /// Aborts the response mid-body, as a dropped connection would.
        case abort
    }

    var status: Int = 200
    var headers: [String: String] = ["content-type": "text/event-stream"]
    /// Body pieces, each written (and flushed) separately.
    var chunks: [ByteBuffer]
    var gap: Duration = .milliseconds(2)
    var ending: Ending = .finish

    /// A streaming answer, cut into pieces of `size` bytes so events and even UTF-8 sequences
    /// straddle chunk boundaries, the way TCP may deliver them.
    static func stream(_ wire: String, pieceSize: Int = 37, ending: Ending = .finish) -> FakeReply {
        FakeReply(chunks: split(wire, size: pieceSize), ending: ending)
    }

    static func status(_ status: Int, body: String, headers: [String: String] = ["content-type": "application/json"]) -> FakeReply {
        FakeReply(status: status, headers: headers, chunks: [ByteBuffer(string: body)])
    }

    /// Splits at byte offsets (not characters), exactly as a network may.
    static func split(_ text: String, size: Int) -> [ByteBuffer] {
        let bytes = Array(text.utf8)
        return stride(from: 0, to: bytes.count, by: size).map { start in
            ByteBuffer(bytes: bytes[start..<min(start + size, bytes.count)])
        }
    }
}

/// Records requests; answers with the reply for the request's ordinal (0-based).
final class FakeProviderLog: Sendable {
    private let recorded = Mutex<[RecordedRequest]>([])

    var requests: [RecordedRequest] { recorded.withLock { $0 } }
    var count: Int { recorded.withLock { $0.count } }

    fileprivate func record(_ request: RecordedRequest) -> Int {
        recorded.withLock {
            $0.append(request)
            return $0.count - 1
        }
    }
}

/// Runs a Hummingbird server on 127.0.0.1 (ephemeral port) that plays `reply(n)` for the n-th
/// request, hands `body` its base URL, and stops the server when `body` returns.
func withFakeProvider<Result: Sendable>(
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
                for (index, chunk) in plan.chunks.enumerated() {
                    if index > 0 { try await Task.sleep(for: plan.gap) }
                    try await writer.write(chunk)
                }
                switch plan.ending {
                case .finish: try await writer.finish(nil)
                case .stall: try await Task.sleep(for: .seconds(30))
                case .abort:
                    // Give the client time to receive what was written, then drop the connection.
                    try await Task.sleep(for: .milliseconds(100))
                    throw FakeProviderAbort()
                }
            })
    }
    return try await LoopbackServer.run(router, label: "fake-provider") { baseURL, _ in try await body(baseURL, log) }
}

struct FakeProviderAbort: Error {}

/// Collects deltas from `onDelta` in arrival order.
final class DeltaRecorder: Sendable {
    private let deltas = Mutex<[LLMDelta]>([])

    var all: [LLMDelta] { deltas.withLock { $0 } }

    var texts: [String] {
        all.compactMap { if case .text(let text) = $0 { text } else { nil } }
    }

    var thoughts: [String] {
        all.compactMap { if case .thinking(let text) = $0 { text } else { nil } }
    }

    func record(_ delta: LLMDelta) {
        deltas.withLock { $0.append(delta) }
    }
}

/// A transport with test-sized timeouts and near-zero backoff.
func testTransport(idleTimeout: Duration = .seconds(5), maxRetries: Int = 3) -> StreamingHTTPTransport {
    StreamingHTTPTransport(
        configuration: .init(
            headTimeout: .seconds(5), idleTimeout: idleTimeout,
            retry: RetryPolicy(maxRetries: maxRetries, baseDelay: .milliseconds(5), maxDelay: .milliseconds(50))))
}

/// A conversation with one completed tool round-trip, to check the history mapping.
enum SampleConversation {
    static let weatherTool = ToolDefinition(
        name: "get_weather", description: "Current weather for a city",
        parameters: [
            "type": "object", "properties": ["location": ["type": "string"]], "required": ["location"],
            "additionalProperties": false,
        ])

    static let messages: [Message] = [
        Message(role: .user, content: [.text("What's the weather in Paris and Rome?")]),
        Message(
            role: .agent,
            content: [
                .text("Checking."),
                .toolCall(ToolCall(id: "call_paris", name: "get_weather", arguments: ["location": "Paris"])),
                .toolCall(ToolCall(id: "call_rome", name: "get_weather", arguments: ["location": "Rome"])),
            ]),
        Message(
            role: .toolResult,
            content: [
                .toolResult(toolCallID: "call_paris", result: ["temp_c": 18], error: nil),
                .toolResult(toolCallID: "call_rome", result: nil, error: "service unavailable"),
            ]),
        Message(role: .user, content: [.text("And in Berlin?")]),
    ]

    static func request(model: String, reasoningEffort: String? = nil) -> LLMRequest {
        LLMRequest(
            model: model, systemPrompt: "You are terse.", messages: messages, tools: [weatherTool],
            parallelToolCalls: false, reasoningEffort: reasoningEffort)
    }
}
