import Foundation
import KeelCore

/// A thread's state at the end of (a prefix of) its session's log: values, status, interrupts.
struct ThreadSnapshot {
    var values: JSONValue
    var status: ThreadStatus
    var interrupts: [JSONValue]
    /// The event the state is at: the checkpoint id.
    var lastEvent: Event?

    init(session: Session, events: ArraySlice<Event>, failures: EventDecodeFailureReporter, current: Bool) {
        let conversation = events.filter {
            MessageProjection.sourceTypes.contains($0.type) || $0.type == EventType.turnStarted
        }
        let messages = MessageProjection.messages(from: MessageProjection.conversationOrder(conversation), failures: failures)
        values = ["messages": .array(LangChainMessages.encode(messages))]
        lastEvent = events.last
        interrupts = Self.openWaits(in: events).compactMap(Interrupts.interrupt(from:))
        let lastEnd = events.last { EventType.terminal.contains($0.type) }
        if current {
            status = Self.status(of: session, lastEnd: lastEnd?.type)
        } else if !interrupts.isEmpty {
            status = .interrupted
        } else if (events.last { $0.type == EventType.turnStarted }?.sequence ?? 0) > (lastEnd?.sequence ?? 0) {
            status = .busy
        } else {
            status = lastEnd?.type == EventType.turnFailed ? .error : .idle
        }
        if status != .interrupted { interrupts = [] }
    }

    /// A thread's status now, from its session and the type of its last turn end.
    static func status(of session: Session, lastEnd: EventType?) -> ThreadStatus {
        if session.status == .waitingForToolResults || !session.pendingApprovals.isEmpty || !session.pendingQuestions.isEmpty {
            return .interrupted
        }
        if session.status == .active { return .busy }
        return lastEnd == EventType.turnFailed ? .error : .idle
    }

    /// The waits opened by the running turn's latest act step, if the turn has not ended.
    static func openWaits(in events: ArraySlice<Event>) -> [Event] {
        var waits: [Event] = []
        for event in events.reversed() {
            if Interrupts.waitTypes.contains(event.type) {
                waits.append(event)
            } else if event.type == EventType.reasonCompleted || event.type == EventType.turnStarted
                || EventType.terminal.contains(event.type)
            {
                break
            }
        }
        return waits.reversed()
    }

    func stateJSON(threadID: String, metadata: JSONValue, createdAt: Date) -> JSONValue {
        let checkpoint: JSONValue = [
            "thread_id": .string(threadID), "checkpoint_ns": "", "checkpoint_id": .string(lastEvent?.id ?? threadID),
        ]
        let interrupted = status == .interrupted
        let tasks: JSONValue =
            interrupted
            ? [["id": .string(interrupts.first?["id"]?.stringValue ?? threadID), "name": "tools", "path": [],
                "error": .null, "interrupts": .array(interrupts), "checkpoint": .null, "state": .null, "result": .null]]
            : []
        return [
            "values": values, "next": interrupted ? ["tools"] : [], "tasks": tasks, "interrupts": .array(interrupts),
            "metadata": AgentProtocolService.merging(metadata, ["step": .number(Double(lastEvent?.sequence ?? 0)), "source": "loop"]),
            "created_at": ProtocolTime.string(lastEvent?.ts ?? createdAt), "checkpoint": checkpoint,
            "checkpoint_id": checkpoint["checkpoint_id"] ?? .null, "parent_checkpoint": .null,
            "parent_checkpoint_id": .null,
        ]
    }
}

