import Foundation
import GRPCCore
import KeelCore
import KeelWorkerRPC
import Testing

@Suite("Worker RPC: every call round-trips")
struct RoundTripTests {
    @Test func claimDeliversStepsWithToolCalls() async throws {
        let fake = FakeStepChannel()
        fake.with { $0.claimable = [Fixture.actStep, Fixture.reasonStep] }
        try await withWorkerServer(fake: fake) { server in
            try await withWorkerClient(port: server.port) { channel in
                let steps = try await channel.claim(workerID: "worker-a", limit: 5)
                #expect(steps.count == 2)
                let act = try #require(steps.first)
                #expect(act.lease == Fixture.lease)
                #expect(act.sessionID == "ses_1")
                #expect(act.turnID == "turn_1")
                #expect(act.attempt == 2)
                #expect(act.progress == Fixture.progress)
                #expect(act.step == Fixture.actStep.step)
                guard case .act(_, let message, _) = act.step else {
                    Issue.record("expected an act step")
                    return
                }
                #expect(message.toolCalls == [
                    ToolCall(id: "call_1", name: "read_file", arguments: ["path": "notes.txt", "max": 10], signature: "sig")
                ])
                #expect(steps.last?.step == .reason(iteration: 1, messageID: "msg_next"))

                // Limit 0 claims nothing and does not reach the channel.
                #expect(try await channel.claim(workerID: "worker-a", limit: 0).isEmpty)
            }
        }
        let claims = fake.with { $0.claims }
        #expect(claims.count == 1)
        #expect(claims.first?.workerID == "worker-a")
        #expect(claims.first?.limit == 5)
    }

    @Test func workerReportsArriveAndTheDrainAnswerComesBack() async throws {
        let fake = FakeStepChannel()
        let report = WorkerReport(
            workerID: "worker-a", address: "host-1:4242", version: "0.1.0", grade: "preview", concurrency: 8, load: 3,
            state: .running)
        try await withWorkerServer(fake: fake) { server in
            try await withWorkerClient(port: server.port) { channel in
                let first = try await channel.reportWorker(report)
                #expect(first == .run)
                fake.with { $0.directive = WorkerDirective(drain: true) }
                var stopping = report
                stopping.state = .stopping
                let second = try await channel.reportWorker(stopping)
                #expect(second.drain)
            }
        }
        let reports = fake.with { $0.reports }
        #expect(reports.count == 2)
        #expect(reports.first == report)
        #expect(reports.last?.state == .stopping)
    }

    @Test func contextCarriesSpecKeyAndHistory() async throws {
        let fake = FakeStepChannel()
        fake.with { $0.context = Fixture.context }
        try await withWorkerServer(fake: fake) { server in
            try await withWorkerClient(port: server.port) { channel in
                let context = try await channel.context(for: Fixture.actStep)
                #expect(context.spec.apiKey == "sk-decrypted")
                #expect(context.spec.providerType == .openai)
                #expect(context.spec.baseURL == "https://llm.example")
                #expect(context.spec.model == "gpt-4o-mini")
                #expect(context.spec.organizationID == "org_1")
                #expect(context.spec.capabilityRefs == ["files"])
                #expect(context.spec.maxIterations == 7)
                #expect(context.spec.toolTimeoutMS == 30_000)
                #expect(context.spec.deltaBatchIntervalMS == 50)
                #expect(context.spec.reasoningEffort == "low")
                #expect(context.history == Fixture.history)
                #expect(context.recordedToolResults == ["call_0": ["ok": true]])
            }
        }
        let requested = try #require(fake.with { $0.contextRequests }.first)
        #expect(requested.lease == Fixture.lease)
        #expect(requested.step == Fixture.actStep.step)
        #expect(requested.progress == Fixture.progress)
    }

    @Test func eventsToolResultsAndLeaseCallsArrive() async throws {
        let fake = FakeStepChannel()
        fake.with { $0.stoppedTasks = ["task_stop"] }
        let stopLease = StepLease(taskID: "task_stop", workerID: "worker-a")
        let completion = StepCompletion(
            events: [Fixture.delta], next: nil, progress: Fixture.progress,
            outcome: .completed(
                iterations: 2, usage: Usage(inputTokens: 5, outputTokens: 6, cacheReadTokens: 7),
                finalMessageID: "msg_final", reachedIterationCap: false))
        let next = StepCompletion(
            events: [], next: .reason(iteration: 2, messageID: "msg_2"), progress: Fixture.progress, outcome: nil)

        try await withWorkerServer(fake: fake) { server in
            try await withWorkerClient(port: server.port) { channel in
                try await channel.emit([Fixture.delta, Fixture.toolCompleted], sessionID: "ses_1", lease: Fixture.lease)
                try await channel.recordToolResult(
                    toolCallID: "call_1", event: Fixture.toolCompleted, sessionID: "ses_1", lease: Fixture.lease)
                #expect(try await channel.heartbeat(Fixture.lease) == true)
                #expect(try await channel.heartbeat(stopLease) == false)
                try await channel.complete(Fixture.lease, completion)
                try await channel.complete(stopLease, next)
                try await channel.fail(Fixture.lease, error: "provider said 500")
                try await channel.release(stopLease)
            }
        }

        fake.with { state in
            #expect(state.emitted == [
                .init(events: [Fixture.delta, Fixture.toolCompleted], sessionID: "ses_1", lease: Fixture.lease)
            ])
            #expect(state.toolResults == [
                .init(toolCallID: "call_1", event: Fixture.toolCompleted, sessionID: "ses_1", lease: Fixture.lease)
            ])
            #expect(state.heartbeats == [Fixture.lease, stopLease])
            #expect(state.completions.count == 2)
            #expect(state.completions.first?.lease == Fixture.lease)
            #expect(state.completions.first?.completion.events == [Fixture.delta])
            #expect(state.completions.first?.completion.progress == Fixture.progress)
            #expect(state.completions.first?.completion.next == nil)
            #expect(state.completions.first?.completion.outcome == completion.outcome)
            #expect(state.completions.last?.completion.next == .reason(iteration: 2, messageID: "msg_2"))
            #expect(state.completions.last?.completion.outcome == nil)
            #expect(state.failures.map(\.lease) == [Fixture.lease])
            #expect(state.failures.map(\.error) == ["provider said 500"])
            #expect(state.releases == [stopLease])
        }
    }

    @Test func fileOperationsRoundTripAndToolErrorsStayToolErrors() async throws {
        let fake = FakeStepChannel()
        try await withWorkerServer(fake: fake) { server in
            try await withWorkerClient(port: server.port) { channel in
                let files = channel.fileSystem(sessionID: "ses_files", lease: Fixture.lease)
                let written = try await files.write("notes.txt", content: "héllo")
                #expect(written == FileStat(path: "notes.txt", isDirectory: false, size: 6, modifiedAt: FakeFileSystem.modifiedAt))
                #expect(try await files.read("notes.txt") == "héllo")
                #expect(try await files.stat("notes.txt")?.size == 6)
                #expect(try await files.stat("absent.txt") == nil)
                _ = try await files.write("b.txt", content: "b")
                #expect(try await files.list("/").map(\.path) == ["b.txt", "notes.txt"])
                try await files.delete("b.txt")
                #expect(try await files.list("/").map(\.path) == ["notes.txt"])

                await #expect(throws: ToolError("no such file: missing.txt")) {
                    try await files.read("missing.txt")
                }
                await #expect(throws: ToolError("no such file: b.txt")) {
                    try await files.delete("b.txt")
                }
            }
        }
        #expect(fake.with { $0.files } == ["notes.txt": "héllo"])
        #expect(Set(fake.with { $0.fileSessions }) == ["ses_files"])
        #expect(Set(fake.with { $0.fileLeases }) == [Fixture.lease], "every file operation carries its step's lease")
    }
}

@Suite("Worker RPC: errors map back to the channel's errors")
struct ErrorMappingTests {
    @Test func lostLeaseBecomesLeaseLost() async throws {
        let fake = FakeStepChannel()
        fake.with { $0.lostTasks = [Fixture.lease.taskID] }
        try await withWorkerServer(fake: fake) { server in
            try await withWorkerClient(port: server.port) { channel in
                await #expect(throws: StepChannelError.leaseLost) {
                    try await channel.emit([Fixture.delta], sessionID: "ses_1", lease: Fixture.lease)
                }
                await #expect(throws: StepChannelError.leaseLost) { try await channel.heartbeat(Fixture.lease) }
                await #expect(throws: StepChannelError.leaseLost) {
                    try await channel.complete(
                        Fixture.lease, StepCompletion(events: [], next: nil, progress: Fixture.progress, outcome: nil))
                }
                await #expect(throws: StepChannelError.leaseLost) { try await channel.context(for: Fixture.actStep) }
                await #expect(throws: StepChannelError.leaseLost) {
                    try await channel.fileSystem(sessionID: "ses_1", lease: Fixture.lease).read("a.txt")
                }
            }
        }
        #expect(fake.with { $0.emitted.isEmpty && $0.completions.isEmpty })
    }

    @Test func notFoundKeepsKindAndID() async throws {
        try await withWorkerServer { server in
            try await withWorkerClient(port: server.port) { channel in
                await #expect(throws: StoreError.notFound(kind: "session", id: "ses_1")) {
                    try await channel.context(for: Fixture.actStep)
                }
                await #expect(throws: StoreError.notFound(kind: "worker", id: "unknown-worker")) {
                    try await channel.claim(workerID: "unknown-worker", limit: 1)
                }
            }
        }
    }

    @Test func unexpectedErrorsAreInternalAndDoNotLeak() async throws {
        try await withWorkerServer { server in
            try await withWorkerClient(port: server.port) { channel in
                let error = await #expect(throws: RPCError.self) {
                    try await channel.claim(workerID: "broken-worker", limit: 1)
                }
                #expect(error?.code == .internalError)
                #expect(error?.message.contains("hunter2") == false)
            }
        }
    }

    @Test func undecodablePayloadsAndMissingLeasesAreInvalidArguments() async throws {
        try await withWorkerServer { server in
            try await withRawClient(port: server.port) { client in
                var emit = Keel_Worker_V1_EmitEventsRequest()
                emit.sessionID = "ses_1"
                emit.lease.taskID = "task_1"
                emit.eventsJson = Data("{not json".utf8)
                let badJSON = await #expect(throws: RPCError.self) { try await client.emitEvents(emit) }
                #expect(badJSON?.code == .invalidArgument)

                let missingLease = await #expect(throws: RPCError.self) {
                    try await client.heartbeatStep(Keel_Worker_V1_HeartbeatStepRequest())
                }
                #expect(missingLease?.code == .invalidArgument)

                var context = Keel_Worker_V1_GetStepContextRequest()
                context.stepJson = Data(#"{"lease": 1}"#.utf8)
                let badStep = await #expect(throws: RPCError.self) { try await client.getStepContext(context) }
                #expect(badStep?.code == .invalidArgument)
            }
        }
    }
}
