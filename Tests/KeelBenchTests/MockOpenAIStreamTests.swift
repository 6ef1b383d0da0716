import AsyncHTTPClient
import Foundation
import KeelTestSupport
import NIOCore
import Testing

@testable import KeelBench

/// The mock's answers read over real HTTP from an in-process mock on a loopback port: the exact
/// `chat.completion.chunk` shapes of OpenAI's streaming format, the tool call reassembled from its
/// pieces, usage only when asked for, `data: [DONE]` last.
@Suite struct MockOpenAIStreamTests {
    static var addTool: [String: Any] {
        ["type": "function",
         "function": ["name": "add", "description": "Adds", "parameters": ["type": "object", "properties": [:] as [String: Any]]]]
    }

    @Test func toolCallStreamsInOpenAIShapeWithUsage() async throws {
        let frames = try await stream([
            "model": "bench-model", "stream": true, "stream_options": ["include_usage": true],
            "messages": [["role": "system", "content": "s"], ["role": "user", "content": "2+3?"]],
            "tools": [Self.addTool, ["type": "function", "function": ["name": "other"]]],
        ])
        #expect(frames.last == "[DONE]")
        let chunks = try frames.dropLast().map(Self.object)
        #expect(chunks.count == 5)  // role + call head, two argument pieces, finish, usage
        for chunk in chunks {
            #expect(chunk["object"] as? String == "chat.completion.chunk")
            #expect((chunk["id"] as? String)?.hasPrefix("chatcmpl-") == true)
            #expect(chunk["created"] as? Int != nil)
            #expect(chunk["model"] as? String == "bench-model")
            #expect(chunk.keys.contains("usage"))
        }
        let choices = chunks.dropLast().map(Self.choice)
        #expect(choices.first?["delta"].flatMap { ($0 as? [String: Any])?["role"] as? String } == "assistant")
        #expect(choices.dropLast().allSatisfy { $0["finish_reason"] is NSNull })
        #expect(choices.last?["finish_reason"] as? String == "tool_calls")

        var name = ""
        var arguments = ""
        var ids: Set<String> = []
        for choice in choices {
            let delta = choice["delta"] as? [String: Any] ?? [:]
            for call in delta["tool_calls"] as? [[String: Any]] ?? [] {
                #expect(call["index"] as? Int == 0)
                if let id = call["id"] as? String {
                    ids.insert(id)
                    #expect(call["type"] as? String == "function")
                }
                let function = call["function"] as? [String: Any] ?? [:]
                name += function["name"] as? String ?? ""
                arguments += function["arguments"] as? String ?? ""
            }
        }
        #expect(name == "add")
        #expect(arguments == #"{"a":2,"b":3}"#)
        #expect(ids.count == 1)
        let calls = choices.compactMap { (($0["delta"] as? [String: Any])?["tool_calls"] as? [[String: Any]])?.first }
        #expect(calls.filter { $0["id"] == nil }.count == 2)  // the two argument pieces

        let usageChunk = try #require(chunks.last)
        #expect((usageChunk["choices"] as? [Any])?.isEmpty == true)
        let usage = try #require(usageChunk["usage"] as? [String: Any])
        let prompt = try #require(usage["prompt_tokens"] as? Int)
        let completion = try #require(usage["completion_tokens"] as? Int)
        #expect(usage["total_tokens"] as? Int == prompt + completion)
        #expect(chunks.dropLast().allSatisfy { $0["usage"] is NSNull })
    }

    @Test func afterAToolResultItAnswersInTextChunksWithoutUsageUnlessAsked() async throws {
        let frames = try await stream(
            [
                "model": "bench-model", "stream": true,
                "messages": [
                    ["role": "user", "content": "2+3?"],
                    ["role": "assistant", "content": NSNull(),
                     "tool_calls": [["id": "call_1", "type": "function", "function": ["name": "add", "arguments": "{}"]]]],
                    ["role": "tool", "tool_call_id": "call_1", "content": "5"],
                ],
                "tools": [Self.addTool],
            ], textChunks: 3)
        #expect(frames.last == "[DONE]")
        let chunks = try frames.dropLast().map(Self.object)
        #expect(chunks.allSatisfy { !$0.keys.contains("usage") })
        let choices = chunks.map(Self.choice)
        let deltas = choices.map { $0["delta"] as? [String: Any] ?? [:] }
        #expect(deltas.first?["role"] as? String == "assistant")
        let pieces = deltas.dropFirst().compactMap { $0["content"] as? String }
        #expect(pieces == ["The", " sum", " of"])
        #expect(choices.last?["finish_reason"] as? String == "stop")
        #expect(deltas.allSatisfy { $0["tool_calls"] == nil })
    }

    @Test func withoutToolsItAnswersText() async throws {
        let frames = try await stream([
            "model": "m", "stream": true, "stream_options": ["include_usage": true],
            "messages": [["role": "user", "content": [["type": "text", "text": "hi"]]]],
        ])
        let chunks = try frames.dropLast().map(Self.object)
        #expect(chunks.dropLast().map(Self.choice).last?["finish_reason"] as? String == "stop")
        #expect((chunks.last?["usage"] as? [String: Any])?["completion_tokens"] as? Int == 8)
    }

    @Test func listsItsModelAndCountsWhatItServed() async throws {
        let server = MockOpenAIServer(textChunks: 2)
        try await LoopbackServer.run(server.router()) { baseURL, _ in
            let models = try Self.object(try await Self.get(baseURL + "/v1/models"))
            #expect(models["object"] as? String == "list")
            let data = try #require(models["data"] as? [[String: Any]])
            #expect(data.first?["id"] as? String == MockOpenAIServer.modelName)
            #expect(data.first?["object"] as? String == "model")
            #expect(try await Self.get(baseURL + "/health") == "ok")
            _ = try await Self.post(baseURL + "/v1/chat/completions", ["messages": [["role": "user", "content": "x"]]])
            let completion = try Self.object(
                try await Self.post(baseURL + "/v1/chat/completions", ["messages": [["role": "user", "content": "x"]], "tools": [Self.addTool]]))
            #expect(completion["object"] as? String == "chat.completion")
            let message = try #require(Self.choice(completion)["message"] as? [String: Any])
            let call = try #require((message["tool_calls"] as? [[String: Any]])?.first)
            #expect((call["function"] as? [String: Any])?["arguments"] as? String == #"{"a":2,"b":3}"#)
            let stats = try Self.object(try await Self.get(baseURL + "/stats"))
            #expect(stats["chat_completions"] as? Int == 2)
            #expect(stats["tool_call_replies"] as? Int == 1)
            #expect(stats["streamed"] as? Int == 0)
        }
    }

    @Test func aStreamRequestGetsStampedPiecesPacedApart() async throws {
        let server = MockOpenAIServer(textChunks: 2, streamPieces: 4, streamInterval: .milliseconds(3))
        let frames = try await stream(
            ["model": "m", "stream": true, "messages": [["role": "user", "content": "keel-bench stream: go"]]], server: server)
        let received = TokenStamp.now()
        #expect(frames.last == "[DONE]")
        let deltas = try frames.dropLast().map { Self.choice(try Self.object($0))["delta"] as? [String: Any] ?? [:] }
        #expect(deltas.first?["role"] as? String == "assistant")
        let pieces = deltas.dropFirst().compactMap { $0["content"] as? String }
        #expect(pieces.count == 4)
        let stamps = pieces.flatMap { TokenStamp.scan(Array($0.utf8)) }
        #expect(stamps.count == 4)
        #expect(stamps.allSatisfy { $0 <= received })
        for (earlier, later) in zip(stamps, stamps.dropFirst()) {
            #expect(later >= earlier + 3_000_000, "pieces are written at least the interval apart")
        }
        // Another message in the same mock is an ordinary text.
        let plain = try await stream(["model": "m", "stream": true, "messages": [["role": "user", "content": "hello"]]], server: server)
        #expect(plain.allSatisfy { TokenStamp.scan(Array($0.utf8)).isEmpty })
    }

    @Test func tokenStampsAreFoundWhereverTheyAre() {
        #expect(TokenStamp.scan(Array("[t=12]x[t=[t=34] [t=] [t=5x] [[t=7]".utf8)) == [12, 34, 7])
        #expect(TokenStamp.scan(Array(#"{"delta":"[t=99]"}"#.utf8)) == [99])
        #expect(TokenStamp.scan(Array("no stamps".utf8)).isEmpty)
        // Only the delta's stamps: `accumulated` repeats the earlier pieces.
        let frame = #"{"accumulated":"[t=1][t=2][t=3]","delta":"[t=3]","message_id":"m","turn_id":"t"}"#
        #expect(TokenStamp.scanDelta(Array(frame.utf8)) == [3])
        #expect(TokenStamp.scanDelta(Array(#"{"delta":"[t=4]\"[t=5]","x":"[t=6]"}"#.utf8)) == [4, 5])
        #expect(TokenStamp.scanDelta(Array(#"{"accumulated":"[t=1]"}"#.utf8)).isEmpty)
        let now = TokenStamp.now()
        #expect(TokenStamp.scan(Array(TokenStamp.text(now).utf8)) == [now])
    }

    @Test func itSinksOTLPExportsOnBothPaths() async throws {
        let server = MockOpenAIServer()
        try await LoopbackServer.run(server.router()) { baseURL, _ in
            for path in ["/v1/traces", "/api/public/otel/v1/traces"] {
                var request = HTTPClientRequest(url: baseURL + path)
                request.method = .POST
                request.headers.add(name: "Content-Type", value: "application/x-protobuf")
                request.body = .bytes(ByteBuffer(bytes: [0x0A, 0x02, 0x0A, 0x00]))
                let response = try await HTTPClient.shared.execute(request, timeout: .seconds(10))
                #expect(response.status == .ok)
                #expect(response.headers.first(name: "Content-Type") == "application/x-protobuf")
                #expect(try await response.body.collect(upTo: 1024).readableBytes == 0)
            }
            let stats = try Self.object(try await Self.get(baseURL + "/stats"))
            #expect(stats["trace_exports"] as? Int == 2)
            #expect(stats["trace_bytes"] as? Int == 8)
            #expect(stats["chat_completions"] as? Int == 0)
        }
    }

    // MARK: - Helpers

    /// POSTs a streaming request to a fresh mock; returns the `data:` payload of each frame.
    private func stream(_ body: [String: Any], textChunks: Int = 8, server: MockOpenAIServer? = nil) async throws -> [String] {
        let server = server ?? MockOpenAIServer(textChunks: textChunks)
        return try await LoopbackServer.run(server.router()) { baseURL, _ in
            let text = try await Self.post(baseURL + "/v1/chat/completions", body, expectStream: true)
            #expect(text.hasSuffix("data: [DONE]\n\n"))
            let frames = text.components(separatedBy: "\n\n").filter { !$0.isEmpty }
            #expect(frames.allSatisfy { $0.hasPrefix("data: ") && !$0.contains("\n") })
            return frames.map { String($0.dropFirst("data: ".count)) }
        }
    }

    private static func post(_ url: String, _ body: [String: Any], expectStream: Bool = false) async throws -> String {
        var request = HTTPClientRequest(url: url)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json")
        request.body = .bytes(ByteBuffer(bytes: try JSONSerialization.data(withJSONObject: body)))
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(10))
        #expect(response.status == .ok)
        #expect(response.headers.first(name: "Content-Type") == (expectStream ? "text/event-stream" : "application/json"))
        return String(buffer: try await response.body.collect(upTo: 1 << 20))
    }

    private static func get(_ url: String) async throws -> String {
        let response = try await HTTPClient.shared.execute(HTTPClientRequest(url: url), timeout: .seconds(10))
        #expect(response.status == .ok)
        return String(buffer: try await response.body.collect(upTo: 1 << 20))
    }

    static func object(_ text: String) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
    }

    static func choice(_ chunk: [String: Any]) -> [String: Any] {
        (chunk["choices"] as? [[String: Any]])?.first ?? [:]
    }
}
