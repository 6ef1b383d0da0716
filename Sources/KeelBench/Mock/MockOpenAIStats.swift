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

    public init() {}

    /// Counts one answered completion; returns its sequence number (1, 2, …) for its ids.
    func record(_ reply: MockReply, streamed isStreamed: Bool) -> Int {
        if isStreamed { streamed.add(1, ordering: .relaxed) }
        switch reply {
        case .toolCall: toolCalls.add(1, ordering: .relaxed)
        case .text: texts.add(1, ordering: .relaxed)
        }
        return completions.add(1, ordering: .relaxed).newValue
    }

    func recordRejected() { rejected.add(1, ordering: .relaxed) }

    public var snapshot: Snapshot {
        Snapshot(
            chatCompletions: completions.load(ordering: .relaxed), streamed: streamed.load(ordering: .relaxed),
            toolCallReplies: toolCalls.load(ordering: .relaxed), textReplies: texts.load(ordering: .relaxed),
            rejected: rejected.load(ordering: .relaxed))
    }

    public struct Snapshot: Codable, Sendable, Equatable {
        public var chatCompletions: Int
        public var streamed: Int
        public var toolCallReplies: Int
        public var textReplies: Int
        public var rejected: Int

        enum CodingKeys: String, CodingKey {
            case chatCompletions = "chat_completions"
            case streamed
            case toolCallReplies = "tool_call_replies"
            case textReplies = "text_replies"
            case rejected
        }

        public var summary: String {
            "\(chatCompletions) chat completions (\(streamed) streamed; \(toolCallReplies) tool-call and "
                + "\(textReplies) text replies), \(rejected) rejected"
        }
    }
}
