import Foundation
import KeelCore
import KeelEngine
import KeelServices

/// A run: its id, its request, its thread.
public struct RunRef: Sendable {
    public var id: String
    public var data: RunData
    public var thread: ThreadRef
    public var createdAt: Date
    public var updatedAt: Date
}

/// What a caller may know about the request that creates a run, beyond its body.
public struct RunRequestContext: Sendable {
    /// The caller's `X-Request-ID`, recorded on the trace as `original_request_id`.
    public var requestID: String?
    public var traceContext: TraceContext?

    public init(requestID: String? = nil, traceContext: TraceContext? = nil) {
        self.requestID = requestID
        self.traceContext = traceContext
    }
}

extension AgentProtocolService {
    /// Trace metadata keys the server sets on every run; a user key of the same name is dropped.
    static let systemMetadataKeys: Set<String> = ["run_id", "thread_id", "graph_id", "original_request_id"]
    static let maxWebhookBytes = 2048
    static let interruptBeforeNodes: Set<String> = ["*", "tools"]
    static let interruptAfterNodes: Set<String> = ["*", "agent"]

    /// Creates a run on the thread (`threadID`), or on a new ephemeral thread (`nil`: stateless).
    public func createRun(
        threadID: String?, _ body: JSONValue, organizationID: String, request: RunRequestContext = RunRequestContext()
    ) async throws -> RunRef {
        let parsed = try await RunRequest(body, stateless: threadID == nil, webhookPolicy: webhookPolicy)
        // The thread first: another organization's thread id is a 404 whatever the assistant.
        var existing: ThreadRef?
        if let threadID {
            do {
                existing = try await self.thread(threadID, organizationID: organizationID)
            } catch AgentProtocolError.notFound where parsed.ifNotExists == "create" && parsed.resume == nil {
                try ProtocolIDs.validate(threadID, field: "thread_id")
            }
        }
        let assistant = try await assistant(parsed.assistantID, organizationID: organizationID)
        let thread: ThreadRef
        if let existing {
            thread = existing
        } else if let threadID {
            thread = try await newThread(id: threadID, metadata: [:], ephemeral: false, organizationID: organizationID)
        } else {
            thread = try await newThread(
                id: nil, metadata: [:], ephemeral: parsed.onCompletion != "keep", organizationID: organizationID)
        }
        let run: RunRef
        do {
            if let resume = parsed.resume {
                run = try await resumeRun(parsed, resume: resume, assistant: assistant, thread: thread)
            } else {
                run = try await startRun(parsed, assistant: assistant, thread: thread, request: request)
            }
        } catch {
            // A thread made for this run does not outlive its refusal.
            if existing == nil { try? await deleteThread(thread) }
            throw error
        }
        if thread.data.metadata["graph_id"]?.stringValue != assistant.data.graphID
            || thread.data.metadata["assistant_id"]?.stringValue != assistant.id
        {
            let keys: JSONValue = ["graph_id": .string(assistant.data.graphID), "assistant_id": .string(assistant.id)]
            try await updateThread(thread) { $0.metadata = Self.merging($0.metadata, keys) }
        }
        if parsed.webhook != nil || thread.data.ephemeral == true {
            completions?.watch(organizationID: organizationID, threadID: thread.id, runID: run.id)
        }
        return run
    }

    private func startRun(
        _ parsed: RunRequest, assistant: AssistantView, thread: ThreadRef, request: RunRequestContext
    ) async throws -> RunRef {
        let organizationID = thread.session.organizationID
        let runID = ProtocolIDs.newRunID()
        guard var message = parsed.message else { throw AgentProtocolError.invalid("input is required") }
        var controls: [String: JSONValue] = [:]
        let configurable = parsed.config["configurable"] ?? assistant.data.config["configurable"]
        // The turn runs with the assistant's agent (which the session then keeps): set when the
        // turn starts, so a refused or queued run changes nothing now.
        controls["agent_id"] = .string(assistant.data.agentID)
        if let model = configurable?["model"]?.stringValue { controls["model_id"] = .string(model) }
        if parsed.interrupts { controls["require_tool_approval"] = true }
        message.controls = controls.isEmpty ? nil : .object(controls)
        message.metadata = traceMetadata(
            parsed.metadata, runID: runID, threadID: thread.id, graphID: assistant.data.graphID, requestID: request.requestID)
        let data = RunData(
            threadID: thread.id, assistantID: assistant.id, graphID: assistant.data.graphID, inputMessageID: message.id,
            turnID: nil, afterSequence: 0, input: parsed.input, command: nil, metadata: parsed.metadata,
            config: parsed.config, context: parsed.context, streamMode: parsed.streamMode,
            multitaskStrategy: parsed.multitaskStrategy, webhook: parsed.webhook, onCompletion: parsed.onCompletion,
            onDisconnect: parsed.onDisconnect)
        let record = ProtocolRecord(
            kind: .run, id: runID, organizationID: organizationID, sessionID: thread.session.id, data: .encoding(data))
        try await records.insertRecord(record)
        do {
            try await submit(message, strategy: parsed.multitaskStrategy, thread: thread, request: request)
        } catch {
            _ = try? await records.deleteRecord(.run, id: runID, organizationID: organizationID)
            throw error
        }
        return RunRef(id: runID, data: data, thread: thread, createdAt: record.createdAt, updatedAt: record.updatedAt)
    }

    /// Submits under the multitask strategy: `reject` refuses a busy thread atomically, `enqueue`
    /// queues behind the running turn, `interrupt` and `rollback` cancel it first (`rollback` also
    /// removes the cancelled runs).
    private func submit(_ message: Message, strategy: String, thread: ThreadRef, request: RunRequestContext) async throws {
        let session = thread.session
        do {
            switch strategy {
            case "enqueue":
                _ = try await runner.submit(
                    message, sessionID: session.id, organizationID: session.organizationID,
                    traceContext: request.traceContext)
            case "interrupt", "rollback":
                let active = try await activeRuns(of: thread)
                _ = try await runner.cancel(sessionID: session.id, organizationID: session.organizationID)
                if strategy == "rollback" {
                    for run in active.all {
                        _ = try await records.deleteRecord(.run, id: run.id, organizationID: session.organizationID)
                    }
                } else {
                    for run in active.queued { try await markCancelledBeforeStart(run) }
                }
                _ = try await runner.submit(
                    message, sessionID: session.id, organizationID: session.organizationID,
                    traceContext: request.traceContext)
            default:
                _ = try await runner.submitIfIdle(
                    message, sessionID: session.id, organizationID: session.organizationID,
                    traceContext: request.traceContext)
            }
        } catch is SessionBusy {
            throw AgentProtocolError.conflict(
                "Thread '\(thread.id)' is busy: a run is pending or running (multitask_strategy 'reject'); "
                    + "use 'enqueue', 'interrupt' or 'rollback', or wait for it to finish")
        } catch let refusal as QueuedMessageLimitExceeded {
            throw ServiceError.tooManyQueuedMessages(limit: refusal.limit)
        }
    }

    /// The request's metadata for the trace: the system keys win over the user's (with a warning).
    func traceMetadata(_ metadata: JSONValue, runID: String, threadID: String, graphID: String, requestID: String?)
        -> JSONValue
    {
        var object = metadata.objectValue ?? [:]
        var system: [String: JSONValue] = [
            "run_id": .string(runID), "thread_id": .string(String(threadID.prefix(RunMetadata.maxStringLength))),
            "graph_id": .string(String(graphID.prefix(RunMetadata.maxStringLength))),
        ]
        if let requestID { system["original_request_id"] = .string(String(requestID.prefix(RunMetadata.maxStringLength))) }
        for (key, value) in system {
            if object[key] != nil, object[key] != value {
                logger.warning(
                    "User metadata key '\(key)' overridden by system value", metadata: ["run_id": "\(runID)", "key": "\(key)"])
            }
            object[key] = value
        }
        return .object(object)
    }

    // MARK: Reading runs

    /// The run with this id on the thread: a run created here, or a turn started through
    /// `/v1/sessions/{id}/messages` (its id is the turn's).
    public func run(_ runID: String, threadID: String, organizationID: String) async throws -> RunRef {
        let thread = try await thread(threadID, organizationID: organizationID)
        return try await run(runID, in: thread)
    }

    func run(_ runID: String, in thread: ThreadRef) async throws -> RunRef {
        let organizationID = thread.session.organizationID
        if let record = try await records.record(.run, id: runID, organizationID: organizationID),
            record.sessionID == thread.session.id
        {
            return RunRef(
                id: record.id, data: try record.decoded(RunData.self), thread: thread, createdAt: record.createdAt,
                updatedAt: record.updatedAt)
        }
        if PublicID.isValid(runID, prefix: .turn) {
            let started = try await store.events(
                sessionID: thread.session.id, organizationID: organizationID, EventQuery(types: [EventType.turnStarted]))
            if let event = started.first(where: { $0.context.turnID == runID }) {
                return sessionTurnRun(event, thread: thread)
            }
        }
        throw AgentProtocolError.notFound(kind: "run", id: runID)
    }

    /// A turn started outside this API, as a run.
    func sessionTurnRun(_ started: Event, thread: ThreadRef) -> RunRef {
        let data = RunData(
            threadID: thread.id, assistantID: thread.session.agentID ?? "", graphID: "", inputMessageID: started.context.inputMessageID,
            turnID: started.context.turnID, afterSequence: started.sequence - 1, input: [:], command: nil, metadata: [:],
            config: [:], context: [:], streamMode: ["values"], multitaskStrategy: "enqueue", webhook: nil, onCompletion: nil,
            onDisconnect: "continue")
        return RunRef(id: started.context.turnID ?? started.id, data: data, thread: thread, createdAt: started.ts, updatedAt: started.ts)
    }

    /// The thread's runs, newest first: those created here and the turns started through the
    /// Everruns-style API.
    public func runs(of thread: ThreadRef) async throws -> [RunRef] {
        let organizationID = thread.session.organizationID
        var runs: [RunRef] = []
        var covered: Set<String> = []
        for record in try await records.records(.run, organizationID: organizationID, sessionID: thread.session.id) {
            let data = try record.decoded(RunData.self)
            if let id = data.inputMessageID { covered.insert(id) }
            runs.append(RunRef(id: record.id, data: data, thread: thread, createdAt: record.createdAt, updatedAt: record.updatedAt))
        }
        let started = try await store.events(
            sessionID: thread.session.id, organizationID: organizationID, EventQuery(types: [EventType.turnStarted]))
        for event in started where !covered.contains(event.context.inputMessageID ?? "") {
            runs.append(sessionTurnRun(event, thread: thread))
        }
        return runs.sorted { ($0.createdAt, $0.id) > ($1.createdAt, $1.id) }
    }

    /// The projection of each run over the thread's log (one read for all of them).
    func projections(_ runs: [RunRef]) async throws -> [RunProjector] {
        guard let first = runs.first else { return [] }
        let events = try await allEvents(sessionID: first.thread.session.id, organizationID: first.thread.session.organizationID)
        return runs.map { run in
            var projector = RunProjector(runID: run.id, run: run.data, failures: failures)
            for event in events { _ = projector.feed(event) }
            return projector
        }
    }

    /// The thread's runs that have not ended, and those among them whose turn has not started.
    func activeRuns(of thread: ThreadRef) async throws -> (all: [RunRef], queued: [RunRef]) {
        let runs = try await runs(of: thread)
        let active = zip(runs, try await projections(runs)).filter { !$0.1.isFinished }
        return (active.map(\.0), active.filter { $0.1.turnID == nil }.map(\.0))
    }

    func markCancelledBeforeStart(_ run: RunRef) async throws {
        let organizationID = run.thread.session.organizationID
        guard try await records.record(.run, id: run.id, organizationID: organizationID) != nil else { return }
        try await records.updateRecord(.run, id: run.id, organizationID: run.thread.session.organizationID) { record in
            guard var data = try? record.decoded(RunData.self) else { return }
            data.cancelledBeforeStart = true
            record.data = .encoding(data)
        }
    }

    public func runJSON(_ run: RunRef, _ projector: RunProjector) -> JSONValue {
        var kwargs: [String: JSONValue] = [
            "input": run.data.input, "config": run.data.config, "context": run.data.context,
            "stream_mode": .array(run.data.streamMode.map(JSONValue.string)),
        ]
        if let command = run.data.command { kwargs["command"] = command }
        if let webhook = run.data.webhook { kwargs["webhook"] = .string(webhook) }
        var object: [String: JSONValue] = [
            "run_id": .string(run.id), "thread_id": .string(run.thread.id), "assistant_id": .string(run.data.assistantID),
            "created_at": ProtocolTime.string(run.createdAt), "updated_at": ProtocolTime.string(run.updatedAt),
            "status": .string(projector.status.rawValue), "metadata": run.data.metadata,
            "multitask_strategy": .string(run.data.multitaskStrategy), "kwargs": .object(kwargs), "input": run.data.input,
            "output": projector.output ?? .null,
            "error_message": projector.failure?["message"] ?? .null,
        ]
        if let turnID = projector.turnID { object["turn_id"] = .string(turnID) }
        return .object(object)
    }

    /// `GET /threads/{id}/runs`: newest first, optionally one status.
    public func listRuns(threadID: String, status: String?, limit: Int, offset: Int, organizationID: String) async throws
        -> [JSONValue]
    {
        let thread = try await thread(threadID, organizationID: organizationID)
        let runs = try await runs(of: thread)
        let projected = try await projections(runs)
        return zip(runs, projected)
            .filter { status == nil || $0.1.status.rawValue == status }
            .dropFirst(offset).prefix(limit)
            .map { runJSON($0.0, $0.1) }
    }

    /// Cancels the run if it has not finished. `interrupt` and `cancel` both end the turn (Keel
    /// keeps what the turn recorded either way). The engine cancels the session's running turn and
    /// every queued one together, so every run still queued ends too. The cancellation is recorded
    /// before this returns.
    public func cancelRun(_ run: RunRef) async throws -> RunProjector {
        let current = try await projection(of: run)
        guard !current.isFinished else { return current }
        let session = run.thread.session
        _ = try await runner.cancel(sessionID: session.id, organizationID: session.organizationID)
        for queued in try await activeRuns(of: run.thread).queued { try await markCancelledBeforeStart(queued) }
        return try await projection(of: try await self.run(run.id, in: run.thread))
    }

    /// Deletes a finished run's record (a running one only with `force`, cancelling it first).
    public func deleteRun(_ run: RunRef, force: Bool) async throws {
        let projector = try await projections([run]).first
        if projector?.isFinished != true {
            guard force else {
                throw AgentProtocolError.conflict("Run '\(run.id)' is still \(projector?.status.rawValue ?? "running"); cancel it first or pass force=1")
            }
            _ = try await cancelRun(run)
        }
        guard try await records.deleteRecord(.run, id: run.id, organizationID: run.thread.session.organizationID) else {
            throw AgentProtocolError.conflict("Run '\(run.id)' is a turn of the session's log and cannot be deleted on its own")
        }
    }
}
