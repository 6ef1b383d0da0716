import Foundation
import KeelCore
import KeelEngine
import KeelServices

/// `command: {resume: …}`: the answer to an interrupt, applied to the waiting turn as approval
/// decisions, question answers or client tool results. The new run covers the turn from here.
extension AgentProtocolService {
    func resumeRun(_ parsed: RunRequest, resume: JSONValue, assistant: AssistantView, thread: ThreadRef) async throws
        -> RunRef
    {
        let session = thread.session
        let organizationID = session.organizationID
        let events = try await allEvents(sessionID: session.id, organizationID: organizationID)
        let snapshot = ThreadSnapshot(session: session, events: events[...], failures: failures, current: true)
        guard snapshot.status == .interrupted,
            let turnID = events.last(where: { $0.type == EventType.turnStarted })?.context.turnID
        else {
            throw AgentProtocolError.badRequest("Thread '\(thread.id)' is not interrupted: there is nothing to resume")
        }
        let runID = ProtocolIDs.newRunID()
        let data = RunData(
            threadID: thread.id, assistantID: assistant.id, graphID: assistant.data.graphID, inputMessageID: nil,
            turnID: turnID, afterSequence: events.last?.sequence ?? 0, input: [:], command: ["resume": resume],
            metadata: parsed.metadata, config: parsed.config, context: parsed.context, streamMode: parsed.streamMode,
            multitaskStrategy: parsed.multitaskStrategy, webhook: parsed.webhook, onCompletion: parsed.onCompletion,
            onDisconnect: parsed.onDisconnect)
        let record = ProtocolRecord(kind: .run, id: runID, organizationID: organizationID, sessionID: session.id, data: .encoding(data))
        try await records.insertRecord(record)
        do {
            try await apply(resume, to: session)
        } catch {
            _ = try? await records.deleteRecord(.run, id: runID, organizationID: organizationID)
            throw error
        }
        return RunRef(id: runID, data: data, thread: thread, createdAt: record.createdAt, updatedAt: record.updatedAt)
    }

    private func apply(_ resume: JSONValue, to session: Session) async throws {
        let messages = services.messages
        if !session.pendingApprovals.isEmpty {
            let decisions = try Self.decisions(resume, pending: session.pendingApprovals.map(\.toolCallID))
            let body: JSONValue = ["decisions": .array(decisions)]
            _ = try await messages.submitApprovals(try body.decode(ToolApprovalsInput.self), to: session)
        } else if let set = session.pendingQuestions.first {
            let answers: [JSONValue] =
                if let list = resume.arrayValue { list }
                else if let list = resume["answers"]?.arrayValue { list }
                else { [resume] }
            guard answers.allSatisfy({ $0.stringValue != nil }) else {
                throw AgentProtocolError.invalid("command.resume for a question must be a string or a list of strings")
            }
            let body: JSONValue = ["tool_call_id": .string(set.toolCallID), "answers": .array(answers)]
            _ = try await messages.submitAnswers(try body.decode(QuestionAnswersInput.self), to: session)
        } else {
            let events = try await allEvents(sessionID: session.id, organizationID: session.organizationID)
            let calls = ThreadSnapshot.openWaits(in: events[...])
                .compactMap { try? $0.payload(as: ToolCallRequestedPayload.self) }
                .flatMap(\.toolCalls)
            let results: [JSONValue]
            if let object = resume.objectValue, !calls.isEmpty, object.keys.allSatisfy({ key in calls.contains { $0.id == key } }) {
                results = object.sorted { $0.key < $1.key }.map { ["tool_call_id": .string($0.key), "result": $0.value] }
            } else if calls.count == 1, let call = calls.first {
                results = [["tool_call_id": .string(call.id), "result": resume]]
            } else {
                throw AgentProtocolError.invalid(
                    "command.resume for client tool calls must map each pending tool_call_id to its result")
            }
            let body: JSONValue = ["tool_results": .array(results)]
            _ = try await messages.submitToolResults(try body.decode(ToolResultsInput.self), to: session)
        }
    }

    /// Approval decisions from a resume value: `true`/`false` (or "approve"/"reject") for every held
    /// call; `{"decisions": [{"type": "approve"|"reject", "message"?}]}` in the order of the calls;
    /// or `{"<tool_call_id>": true | false | {"approved": …, "reason": …}}`.
    static func decisions(_ resume: JSONValue, pending: [String]) throws(AgentProtocolError) -> [JSONValue] {
        func verdict(_ value: JSONValue) -> (Bool, String?)? {
            if let flag = value.boolValue { return (flag, nil) }
            if let word = value.stringValue?.lowercased() {
                if ["approve", "approved", "accept", "yes"].contains(word) { return (true, nil) }
                if ["reject", "rejected", "deny", "no"].contains(word) { return (false, nil) }
                return nil
            }
            if let approved = value["approved"]?.boolValue { return (approved, value["reason"]?.stringValue) }
            if let type = value["type"]?.stringValue, let flag = verdict(.string(type)) {
                return (flag.0, value["message"]?.stringValue ?? value["reason"]?.stringValue)
            }
            return nil
        }
        func decision(_ id: String, _ verdict: (Bool, String?)) -> JSONValue {
            ["tool_call_id": .string(id), "approved": .bool(verdict.0), "reason": JSONValue(verdict.1)]
        }
        if let all = verdict(resume) { return pending.map { decision($0, all) } }
        if let list = resume["decisions"]?.arrayValue {
            guard list.count == pending.count else {
                throw .invalid("command.resume.decisions has \(list.count) entries; \(pending.count) tool calls are waiting")
            }
            var result: [JSONValue] = []
            for (id, entry) in zip(pending, list) {
                guard let value = verdict(entry) else { throw .invalid("command.resume.decisions entries must approve or reject") }
                result.append(decision(id, value))
            }
            return result
        }
        if let object = resume.objectValue {
            var result: [JSONValue] = []
            for (id, entry) in object.sorted(by: { $0.key < $1.key }) {
                guard let value = verdict(entry) else { throw .invalid("command.resume['\(id.prefix(64))'] must approve or reject") }
                result.append(decision(id, value))
            }
            return result
        }
        throw .invalid("command.resume for tool approvals must be true/false, {\"decisions\": [...]} or {tool_call_id: bool}")
    }
}
