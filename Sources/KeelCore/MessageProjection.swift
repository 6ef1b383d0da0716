import Foundation

/// Rebuilds the conversation from the event log: there is no separate message table, so the
/// log is the single source of truth for both streaming and history.
public enum MessageProjection {
    public static let sourceTypes: Set<EventType> = [
        EventType.inputMessage, EventType.outputMessageCompleted, EventType.toolCompleted,
    ]

    public static func message(from event: Event) -> Message? {
        switch event.type {
        case EventType.inputMessage, EventType.outputMessageCompleted:
            guard var message = try? event.data["message"]?.decode(Message.self) else { return nil }
            message.sessionID = event.sessionID
            message.sequence = event.sequence
            return message
        case EventType.toolCompleted:
            guard let callID = event.data["tool_call_id"]?.stringValue else { return nil }
            var message = Message(
                id: "message_" + String(event.id.dropFirst("event_".count)), role: .toolResult,
                content: [.toolResult(toolCallID: callID, result: event.data["result"], error: event.data["error"]?.stringValue)],
                createdAt: event.ts)
            message.sessionID = event.sessionID
            message.sequence = event.sequence
            return message
        default:
            return nil
        }
    }

    /// Parallel tools finish in any order, but the model saw their results in call order; each
    /// run of tool results is put back in the order of the calls that precede it.
    public static func messages(from events: [Event]) -> [Message] {
        var messages = events.compactMap(message(from:))
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
