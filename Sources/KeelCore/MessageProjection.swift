import Foundation

/// Rebuilds the conversation from the event log: there is no separate message table, so the
/// log is the single source of truth for both streaming and history.
public enum MessageProjection {
    public static let sourceTypes: Set<String> = [
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

    public static func messages(from events: [Event]) -> [Message] {
        events.compactMap(message(from:))
    }
}
