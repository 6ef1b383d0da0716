import Foundation
import KeelCore

/// Persists the loop's events into a session's log (which also wakes live SSE readers).
struct StoreEventSink: TurnEventSink {
    let store: any KeelStore
    let sessionID: String

    func emit(_ type: EventType, context: EventContext, data: JSONValue) async throws -> Event {
        try await store.appendEvent(sessionID: sessionID, EventDraft(type: type, context: context, data: data))
    }
}
