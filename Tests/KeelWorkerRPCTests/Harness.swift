import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2
import KeelCore
import KeelWorkerRPC
import Logging
import ServiceLifecycle
import Testing

let quietLogger = Logger(label: "keel.worker-rpc.tests", factory: { _ in SwiftLogNoOpLogHandler() })

/// A `WorkerRPCServer` on 127.0.0.1 run by a service group, so it can be shut down gracefully.
struct RunningServer: Sendable {
    let port: Int
    let fake: FakeStepChannel
    let group: ServiceGroup

    func beginGracefulShutdown() async { await group.triggerGracefulShutdown() }
}

/// Serves `fake` while `body` runs, then shuts the server down gracefully and waits for it.
func withWorkerServer<T: Sendable>(
    token: String? = nil, port: Int = 0, fake: FakeStepChannel = FakeStepChannel(), tls: WorkerRPCTLS.Server? = nil,
    _ body: @Sendable (RunningServer) async throws -> T
) async throws -> T {
    let server = WorkerRPCServer(channel: fake, host: "127.0.0.1", port: port, authToken: token, tls: tls, logger: quietLogger)
    let group = ServiceGroup(services: [server], logger: quietLogger)
    return try await withThrowingTaskGroup(of: Void.self, returning: T.self) { tasks in
        tasks.addTask { try await group.run() }
        let result: Result<T, any Error>
        do {
            let port = try await server.listeningPort()
            result = .success(try await body(RunningServer(port: port, fake: fake, group: group)))
        } catch {
            result = .failure(error)
        }
        await group.triggerGracefulShutdown()
        try await tasks.waitForAll()
        return try result.get()
    }
}

/// Connects a worker-side channel to `port` while `body` runs.
func withWorkerClient<T: Sendable>(
    port: Int, token: String? = nil, tls: WorkerRPCTLS.Client? = nil, connectTimeout: Duration = .seconds(15),
    _ body: (GRPCStepChannel) async throws -> T
) async throws -> T {
    try await GRPCStepChannel.withConnection(
        host: "127.0.0.1", port: port, authToken: token, tls: tls, connectTimeout: connectTimeout, logger: quietLogger, body)
}

/// A port nothing listens on (bound by a short-lived server, then released).
func unusedPort() async throws -> Int {
    try await withWorkerServer { $0.port }
}

/// Polls `condition` every 10 ms for up to 30 seconds (the suite shares two cores with the rest;
/// the bound only matters when a test fails).
func eventually(_ what: Comment, _ condition: () -> Bool) async throws {
    let deadline = ContinuousClock.now.advanced(by: .seconds(30))
    while !condition() {
        if ContinuousClock.now > deadline {
            Issue.record("timed out waiting until \(what)")
            return
        }
        try await Task.sleep(for: .milliseconds(10))
    }
}

/// Fixtures: values with whole-second dates so they survive KeelJSON's millisecond timestamps.
enum Fixture {
    static let date = Date(timeIntervalSince1970: 1_700_000_000)
    static let lease = StepLease(taskID: "task_1", workerID: "worker-a")

    static let toolCallMessage = Message(
        id: "msg_agent", role: .agent,
        content: [
            .text("Let me look."),
            .toolCall(ToolCall(id: "call_1", name: "read_file", arguments: ["path": "notes.txt", "max": 10], signature: "sig")),
        ],
        createdAt: date)

    static let progress = TurnProgress(
        startedAt: date, iterations: 1, usage: Usage(inputTokens: 12, outputTokens: 34), toolCallCount: 1,
        firstTokenLatencyMS: 250)

    static let actStep = ClaimedStep(
        lease: lease, sessionID: "ses_1", turnID: "turn_1",
        step: .act(iteration: 1, message: toolCallMessage, capReached: false), progress: progress, attempt: 2)

    static let reasonStep = ClaimedStep(
        lease: StepLease(taskID: "task_2", workerID: "worker-a"), sessionID: "ses_2", turnID: "turn_2",
        step: .reason(iteration: 1, messageID: "msg_next"), progress: TurnProgress(startedAt: date), attempt: 1)

    static let history = [
        Message(id: "msg_user", role: .user, content: [.text("What is in notes.txt?")], createdAt: date),
        toolCallMessage,
    ]

    static var context: StepContext {
        let plan = TurnPlan(
            sessionID: "ses_1", agentID: "agt_1", agentName: "helper", turnID: "turn_1", inputMessageID: "msg_user",
            model: "gpt-4o-mini", modelReference: "openai/gpt-4o-mini", providerID: "prv_1",
            endpoint: LLMEndpoint(providerType: .openai, apiKey: "sk-decrypted", baseURL: "https://llm.example"),
            systemPrompt: "Be brief.", tools: [], maxIterations: 7, parallelToolCalls: false,
            toolTimeout: .seconds(30), deltaBatchInterval: .milliseconds(50), reasoningEffort: "low")
        return StepContext(
            spec: TurnSpec(plan: plan, organizationID: "org_1", capabilityRefs: ["files"], unresolvedModel: false),
            history: history, recordedToolResults: ["call_0": ["ok": true]])
    }

    static let toolCompleted = EventDraft(
        type: EventType.toolCompleted, context: EventContext(turnID: "turn_1", inputMessageID: "msg_user"),
        data: ["tool_call_id": "call_1", "result": ["content": "hello"]], metadata: ["attempt": 2], tags: ["t"])

    static let delta = EventDraft(
        type: EventType.outputMessageDelta, context: EventContext(turnID: "turn_1"), data: ["delta": "Hel"])
}

/// The generated client, for requests `GRPCStepChannel` never sends (malformed payloads).
func withRawClient<T: Sendable>(
    port: Int, _ body: (Keel_Worker_V1_WorkerService.Client<HTTP2ClientTransport.Posix>) async throws -> T
) async throws -> T {
    let transport = try HTTP2ClientTransport.Posix(
        target: .ipv4(address: "127.0.0.1", port: port), transportSecurity: .plaintext)
    return try await withGRPCClient(transport: transport) { client in
        try await body(Keel_Worker_V1_WorkerService.Client(wrapping: client))
    }
}
