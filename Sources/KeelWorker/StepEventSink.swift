import Foundation
import KeelCore
import Synchronization

/// The event sink of one step on a worker. Progress events go out at once so clients see the
/// turn live; each `tool.completed` is recorded with its result checkpoint; the step's result
/// events are held back and committed with the step's completion, so a step that dies half-way
/// leaves no half-recorded output and a retried step never records its output twice.
final class StepEventSink: TurnEventSink {
    static let liveTypes: Set<EventType> = [
        EventType.reasonStarted, EventType.outputMessageStarted, EventType.outputMessageDelta,
        EventType.reasonThinkingStarted, EventType.reasonThinkingDelta, EventType.reasonThinkingCompleted,
        EventType.actStarted, EventType.toolStarted,
    ]

    private let channel: any StepChannel
    private let lease: StepLease
    private let sessionID: String
    private let held = Mutex<[EventDraft]>([])

    init(channel: any StepChannel, lease: StepLease, sessionID: String) {
        self.channel = channel
        self.lease = lease
        self.sessionID = sessionID
    }

    /// The result events, in emission order.
    var heldEvents: [EventDraft] { held.withLock { $0 } }

    func emit(_ type: EventType, context: EventContext, data: JSONValue) async throws -> Event {
        let draft = EventDraft(type: type, context: context, data: data)
        if type == EventType.toolCompleted, let callID = data["tool_call_id"]?.stringValue {
            try await channel.recordToolResult(toolCallID: callID, event: draft, sessionID: sessionID, lease: lease)
        } else if Self.liveTypes.contains(type) {
            try await channel.emit([draft], sessionID: sessionID, lease: lease)
        } else {
            held.withLock { $0.append(draft) }
        }
        // Sequence numbers are assigned by the control plane; the loop does not use them.
        return Event(type: type, sessionID: sessionID, sequence: 0, context: context, data: data)
    }
}
