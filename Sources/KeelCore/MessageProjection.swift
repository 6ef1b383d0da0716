import Foundation

/// What conversation ordering reads of a log entry: an `Event`, or a cached entry of one.
public protocol ConversationRecord {
    var type: EventType { get }
    var inputMessageID: String? { get }
}

extension Event: ConversationRecord {
    public var inputMessageID: String? { context.inputMessageID }
}

/// Rebuilds the conversation from the event log: there is no separate message table, so the
/// log is the single source of truth for both streaming and history.
public enum MessageProjection {
    public static let sourceTypes: Set<EventType> = [
        EventType.inputMessage, EventType.outputMessageCompleted, EventType.toolCompleted,
    ]

    /// The message an event carries, or nil when its type carries none. An event of a message
    /// type whose data does not decode is reported to `failures` (consumer `message_projection`)
    /// and skipped: one malformed stored row must not make the whole history unreadable.
    public static func message(from event: Event, failures: EventDecodeFailureReporter) -> Message? {
        do {
            return try message(from: event)
        } catch {
            failures.report(error, consumer: consumer)
            return nil
        }
    }

    static let consumer = "message_projection"

    /// The log in conversation order: a message sent while a turn ran (queued, or superseding a
    /// wait for client tools) is recorded when it arrives, in the middle of that turn's events, but
    /// belongs where its own turn starts — after the previous turn's tool results and answer, so a
    /// tool result still follows its call and the new message comes last. Each such
    /// `input.message` moves to its turn's `turn.started` (which `events` must include); one whose
    /// turn has not started stays where it is.
    public static func conversationOrder<Record: ConversationRecord>(_ events: [Record]) -> [Record] {
        isInConversationOrder(events) ? events : reorderedConversation(events)
    }

    /// True when no input has to move: each `input.message` is directly followed by its own
    /// `turn.started`, as when no message was queued behind a running turn. Checked without
    /// hashing or copying, since it holds for almost every step.
    static func isInConversationOrder<Record: ConversationRecord>(_ events: [Record]) -> Bool {
        var index = events.startIndex
        while index < events.endIndex {
            let event = events[index]
            index += 1
            guard event.type == EventType.inputMessage, let id = event.inputMessageID else { continue }
            guard index < events.endIndex, events[index].type == EventType.turnStarted,
                events[index].inputMessageID == id
            else { return false }
        }
        return true
    }

    static func reorderedConversation<Record: ConversationRecord>(_ events: [Record]) -> [Record] {
        var started: Set<String> = []
        for event in events where event.type == EventType.turnStarted {
            if let id = event.inputMessageID { started.insert(id) }
        }
        var ordered: [Record] = []
        ordered.reserveCapacity(events.count)
        var deferred: [String: Record] = [:]
        var startedSoFar: Set<String> = []
        for event in events {
            if event.type == EventType.turnStarted, let id = event.inputMessageID {
                startedSoFar.insert(id)
                if let input = deferred.removeValue(forKey: id) { ordered.append(input) }
            } else if event.type == EventType.inputMessage, let id = event.inputMessageID,
                started.contains(id), !startedSoFar.contains(id)
            {
                deferred[id] = event
                continue
            }
            ordered.append(event)
        }
        return ordered
    }

    /// The message an event carries, nil when its type carries none; throws `EventPayloadError`
    /// when the data does not decode.
    public static func message(from event: Event) throws(EventPayloadError) -> Message? {
        var message: Message
        switch event.type {
        case EventType.inputMessage:
            message = try event.payload(as: InputMessagePayload.self).message
        case EventType.outputMessageCompleted:
            message = try event.payload(as: OutputMessageCompletedPayload.self).message
        case EventType.toolCompleted:
            let completed = try event.payload(as: ToolCompletedPayload.self)
            message = Message(
                id: "message_" + String(event.id.dropFirst("event_".count)), role: .toolResult,
                content: [.toolResult(toolCallID: completed.toolCallID, result: completed.result, error: completed.error)],
                createdAt: event.ts)
        default:
            return nil
        }
        message.sessionID = event.sessionID
        message.sequence = event.sequence
        return message
    }

    /// Parallel tools finish in any order, but the model saw their results in call order; each
    /// run of tool results is put back in the order of the calls that precede it.
    public static func messages(from events: [Event], failures: EventDecodeFailureReporter) -> [Message] {
        inCallOrder(events.compactMap { message(from: $0, failures: failures) })
    }

    /// Messages in log order with each run of tool results put back in call order.
    public static func inCallOrder(_ messages: [Message]) -> [Message] {
        var messages = messages
        var index = 0
        while index < messages.count {
            guard messages[index].role == .toolResult else {
                index += 1
                continue
            }
            var end = index
            while end < messages.count, messages[end].role == .toolResult { end += 1 }
            if index > 0 {
                let order = messages[index - 1].toolCalls.enumerated().reduce(into: [String: Int]()) { $0[$1.element.id] = $1.offset }
                let position = { (message: Message) -> Int in
                    guard case .toolResult(let callID, _, _)? = message.content.first else { return Int.max }
                    return order[callID] ?? Int.max
                }
                messages[index..<end].sort { position($0) < position($1) }
            }
            index = end
        }
        return messages
    }
}
