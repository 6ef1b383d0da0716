import Synchronization

/// Counters of the mock's work, read by the benchmark (`GET /stats`) around its measured phase —
/// model calls per turn — and printed when the mock exits. Atomics: hundreds of concurrent
/// streams bump them without a lock.
public final class MockOpenAIStats: Sendable {
    private let completions = Atomic<Int>(0)
    private let streamed = Atomic<Int>(0)
    private let toolCalls = Atomic<Int>(0)
    private let texts = Atomic<Int>(0)
    private let rejected = Atomic<Int>(0)
    private let traceExports = Atomic<Int>(0)
    private let traceBytes = Atomic<Int>(0)

    public init() {}

    /// Counts one answered completion; returns its sequence number (1, 2, …) for its ids.
    func record(_ reply: MockReply, streamed isStreamed: Bool) -> Int {
        if isStreamed { streamed.add(1, ordering: .relaxed) }
        switch reply {
        case .toolCall: toolCalls.add(1, ordering: .relaxed)
        case .text, .stampedText: texts.add(1, ordering: .relaxed)
        }
        return completions.add(1, ordering: .relaxed).newValue
    }

    func recordRejected() { rejected.add(1, ordering: .relaxed) }

    func recordTraceExport(bytes: Int) {
        traceExports.add(1, ordering: .relaxed)
        traceBytes.add(bytes, ordering: .relaxed)
    }

    public var snapshot: Snapshot {
        Snapshot(
            chatCompletions: completions.load(ordering: .relaxed), streamed: streamed.load(ordering: .relaxed),
            toolCallReplies: toolCalls.load(ordering: .relaxed), textReplies: texts.load(ordering: .relaxed),
            rejected: rejected.load(ordering: .relaxed), traceExports: traceExports.load(ordering: .relaxed),
            traceBytes: traceBytes.load(ordering: .relaxed))
    }

    public struct Snapshot: Codable, Sendable, Equatable {
        public var chatCompletions: Int
        public var streamed: Int
        public var toolCallReplies: Int
        public var textReplies: Int
        public var rejected: Int
        /// OTLP export requests received (`memory-traced`), and their body bytes.
        public var traceExports: Int
        public var traceBytes: Int

        enum CodingKeys: String, CodingKey {
            case chatCompletions = "chat_completions"
            case streamed
            case toolCallReplies = "tool_call_replies"
            case textReplies = "text_replies"
            case rejected
            case traceExports = "trace_exports"
            case traceBytes = "trace_bytes"
        }

        public var summary: String {
            "\(chatCompletions) chat completions (\(streamed) streamed; \(toolCallReplies) tool-call and "
                + "\(textReplies) text replies), \(rejected) rejected; \(traceExports) OTLP exports (\(traceBytes) bytes)"
        }
    }
}
