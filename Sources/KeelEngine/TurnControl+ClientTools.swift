import Foundation
import KeelCore

/// One result a client posts for a client-side tool call.
public struct ClientToolResult: Sendable, Hashable {
    public var toolCallID: String
    public var result: JSONValue?
    public var error: String?

    public init(toolCallID: String, result: JSONValue?, error: String?) {
        self.toolCallID = toolCallID
        self.result = result
        self.error = error
    }
}

/// What `submitToolResults` did: how many results it recorded and the session's status after.
public struct ClientToolResultsAccepted: Sendable, Hashable {
    public var accepted: Int
    public var status: SessionStatus
}

public enum ClientToolResultsError: Error, Sendable, Hashable {
    /// No turn of the session waits for client results (409; the SDK retries on this text).
    case notWaiting
    /// A result names a call the turn is not waiting for (400).
    case unknownCall(String)
    /// A result repeats a call, in the request or one already answered (400).
    case duplicate(String)
}

extension TurnControl {
    public static let timedOutText = "Timed out waiting for client tool results"
    public static let supersededText = "Cancelled: user sent a new message"

    /// The act step asked the client to run `calls`: the turn waits (holding no task) with the
    /// session in `waitingfortoolresults` until the results, a deadline or a new message arrive.
    func startWait(for calls: [ToolCall], resuming step: TurnStep, task: LeasedTask, in tx: any TurnTransaction)
        async throws
    {
        let now = Date()
        try await tx.setTurnWait(
            turnID: task.turnID,
            TurnWait(
                step: step, calls: calls, pendingCallIDs: calls.map(\.id), since: now,
                deadline: now.addingTimeInterval(configuration.toolResultTimeout.inSeconds)))
        _ = try await tx.updateSession(id: task.sessionID, organizationID: task.organizationID) { session in
            session.status = .waitingForToolResults
        }
    }

    public func submitToolResults(_ results: [ClientToolResult], sessionID: String, organizationID: String)
        async throws -> ClientToolResultsAccepted
    {
        try await store.transaction { tx in
            guard try await tx.lockSession(sessionID, organizationID: organizationID) else {
                throw StoreError.notFound(kind: "session", id: sessionID)
            }
            guard let turn = try await tx.runningTurn(sessionID: sessionID),
                let wait = try await tx.turnWait(turnID: turn.turnID)
            else { throw ClientToolResultsError.notWaiting }
            var seen: Set<String> = []
            for result in results {
                guard seen.insert(result.toolCallID).inserted else { throw ClientToolResultsError.duplicate(result.toolCallID) }
                guard wait.calls.contains(where: { $0.id == result.toolCallID }) else {
                    throw ClientToolResultsError.unknownCall(result.toolCallID)
                }
                guard wait.pendingCallIDs.contains(result.toolCallID) else {
                    throw ClientToolResultsError.duplicate(result.toolCallID)
                }
            }
            let context = EventContext(turnID: turn.turnID, inputMessageID: turn.inputMessageID)
            let session = try await record(results, of: wait, turnID: turn.turnID, sessionID: sessionID,
                                           organizationID: organizationID, context: context, in: tx)
            return ClientToolResultsAccepted(accepted: results.count, status: session)
        }
    }

    /// Records results for pending calls as `tool.completed` (with their checkpoints) and, once
    /// none is pending, ends the wait and queues the act step again. Returns the session's status.
    private func record(
        _ results: [ClientToolResult], of wait: TurnWait, turnID: String, sessionID: String, organizationID: String,
        context: EventContext, in tx: any TurnTransaction
    ) async throws -> SessionStatus {
        let durationMS = max(0, Int(Date().timeIntervalSince(wait.since) * 1000))
        var remaining = wait.pendingCallIDs
        for result in results {
            let name = wait.calls.first { $0.id == result.toolCallID }?.name ?? ""
            let draft = EventDraft(
                ToolCompletedPayload(
                    toolCallID: result.toolCallID, toolName: name, success: result.error == nil,
                    status: result.error == nil ? "success" : "error", durationMS: durationMS, result: result.result,
                    error: result.error),
                context: context)
            guard try await tx.insertToolResult(turnID: turnID, toolCallID: result.toolCallID, taskID: "client", data: draft.data)
            else { throw ClientToolResultsError.duplicate(result.toolCallID) }
            _ = try await tx.append([draft], sessionID: sessionID, organizationID: organizationID)
            remaining.removeAll { $0 == result.toolCallID }
        }
        if !remaining.isEmpty {
            var updated = wait
            updated.pendingCallIDs = remaining
            try await tx.setTurnWait(turnID: turnID, updated)
            return .waitingForToolResults
        }
        try await tx.setTurnWait(turnID: turnID, nil)
        _ = try await tx.updateSession(id: sessionID, organizationID: organizationID) { $0.status = .active }
        let progress = (try await tx.runningTurn(sessionID: sessionID))?.progress ?? TurnProgress()
        try await enqueue(wait.step, turnID: turnID, sessionID: sessionID, progress: progress, in: tx)
        return .active
    }

    /// Answers every pending call of a waiting turn with `error` and resumes it (the deadline
    /// passed, or the user sent a new message). No-op when the turn does not wait.
    func abandonWait(
        turnID: String, inputMessageID: String, sessionID: String, organizationID: String, error: String,
        in tx: any TurnTransaction
    ) async throws {
        guard let wait = try await tx.turnWait(turnID: turnID) else { return }
        let results = wait.pendingCallIDs.map { ClientToolResult(toolCallID: $0, result: nil, error: error) }
        _ = try await record(
            results, of: wait, turnID: turnID, sessionID: sessionID, organizationID: organizationID,
            context: EventContext(turnID: turnID, inputMessageID: inputMessageID), in: tx)
    }

    /// Ends the waits whose deadline passed, about once a second, in both configurations.
    func waitDeadlineLoop() async {
        while !Task.isCancelled {
            do {
                for waiting in try await store.expiredWaits(now: Date(), limit: 100) {
                    try await store.transaction { tx in
                        guard try await tx.lockSession(waiting.sessionID, organizationID: waiting.organizationID),
                            let turn = try await tx.runningTurn(sessionID: waiting.sessionID),
                            turn.turnID == waiting.turnID,
                            let wait = try await tx.turnWait(turnID: turn.turnID), wait.deadline < Date()
                        else { return }
                        try await abandonWait(
                            turnID: turn.turnID, inputMessageID: turn.inputMessageID, sessionID: waiting.sessionID,
                            organizationID: waiting.organizationID, error: Self.timedOutText, in: tx)
                    }
                }
            } catch where !Task.isCancelled {
                logger.warning("client wait sweep failed", metadata: ["error": "\(error)"])
            } catch {}
            try? await Task.sleep(for: .seconds(1))
        }
    }
}
