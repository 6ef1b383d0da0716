import Foundation
import KeelCore
import KeelWorkerRPC
import Logging
import Testing

/// The worker RPCs that hand out data check the caller's lease (issue 8, item 10): a step's
/// context (it carries the turn's decrypted provider key) and its session's files are for the
/// holder of that step's lease only, and a released lease is never granted again.
@Suite("durable execution: leases", .serialized)
struct DurableLeaseTests {
    /// No reclaim during the test: the steps are claimed by hand and never heartbeat.
    static let extra = ["DURABLE_STALE_TASK_THRESHOLD_SECS": "120"]

    static func withRogueWorker(
        _ body: @escaping @Sendable (_ server: TestServer, _ channel: GRPCStepChannel, _ databaseURL: String) async throws -> Void
    ) async throws {
        try await DurableExecutionTests.withDurableServer(script: [], extra: extra) { server, port, _, url in
            var logger = Logger(label: "rogue-worker")
            logger.logLevel = .critical
            try await GRPCStepChannel.withConnection(
                host: "127.0.0.1", port: port, authToken: WorkerProcess.token, connectTimeout: .seconds(10), logger: logger
            ) { channel in try await body(server, channel, url) }
        }
    }

    @Test("GetStepContext: only the lease holder of that very step gets the context and its key")
    func contextNeedsTheLease() async throws {
        try await Self.withRogueWorker { server, channel, _ in
            let mine = try await server.createSession(["model_id": "openai/gpt-4o-mini"])
            _ = try await server.send(mine, "hello")
            let step = try await DurableLifecycleTests.claimOne(channel, worker: "worker-a")
            let theirs = try await server.createSession(["model_id": "openai/gpt-4o-mini"])
            _ = try await server.send(theirs, "my secrets")
            let other = try await DurableLifecycleTests.claimOne(channel, worker: "worker-b")

            let context = try await channel.context(for: step)
            #expect(context.spec.apiKey == DurableExecutionTests.providerKey)

            // A lease that names the task but not its holder; the holder's lease with another
            // turn and session; a made-up lease.
            var forgedHolder = step
            forgedHolder.lease.workerID = "worker-b#1"
            var otherTurn = step
            otherTurn.turnID = other.turnID
            otherTurn.sessionID = other.sessionID
            var madeUp = other
            madeUp.lease = StepLease(taskID: "task_nonexistent", workerID: "worker-a#1")
            for denied in [forgedHolder, otherTurn, madeUp] {
                await #expect(throws: StepChannelError.leaseLost) { _ = try await channel.context(for: denied) }
            }
        }
    }

    @Test("a released lease is never granted again: the epoch grows on every claim, and the old lease is refused")
    func releasedLeaseStaysDead() async throws {
        try await Self.withRogueWorker { server, channel, url in
            let session = try await server.createSession(["model_id": "openai/gpt-4o-mini"])
            _ = try await server.send(session, "hello")
            let first = try await DurableLifecycleTests.claimOne(channel, worker: "worker-a")
            let epochSQL = "SELECT lease_epoch::int FROM durable_tasks WHERE id = '\(first.lease.taskID)'"
            let firstEpoch = try await DurableLifecycleTests.count(epochSQL, url)
            #expect(firstEpoch >= 1)
            _ = try await channel.fileSystem(sessionID: session, lease: first.lease).write("notes.txt", content: "v1")

            try await channel.release(first.lease)
            #expect(try await DurableLifecycleTests.count(epochSQL, url) >= firstEpoch, "a release never lowers the epoch")
            // The same worker claims the same step again, at the same attempt.
            let second = try await DurableLifecycleTests.claimOne(channel, worker: "worker-a")
            #expect(second.lease.taskID == first.lease.taskID && second.attempt == first.attempt)
            #expect(second.lease != first.lease)
            #expect(try await DurableLifecycleTests.count(epochSQL, url) > firstEpoch)

            // The released execution can no longer act, read the context or touch the files.
            #expect(try await channel.heartbeat(first.lease) == false)
            #expect(try await channel.heartbeat(second.lease) == true)
            await #expect(throws: StepChannelError.leaseLost) { _ = try await channel.context(for: first) }
            let stale = channel.fileSystem(sessionID: session, lease: first.lease)
            await #expect(throws: StepChannelError.leaseLost) { _ = try await stale.write("notes.txt", content: "stale") }
            await #expect(throws: StepChannelError.leaseLost) { _ = try await stale.read("notes.txt") }

            let current = channel.fileSystem(sessionID: session, lease: second.lease)
            #expect(try await current.read("notes.txt") == "v1")

            // Released again and claimed by another worker: the epoch keeps growing.
            let secondEpoch = try await DurableLifecycleTests.count(epochSQL, url)
            try await channel.release(second.lease)
            let third = try await DurableLifecycleTests.claimOne(channel, worker: "worker-b")
            #expect(try await DurableLifecycleTests.count(epochSQL, url) > secondEpoch)
            await #expect(throws: StepChannelError.leaseLost) { _ = try await current.read("notes.txt") }
            #expect(try await channel.fileSystem(sessionID: session, lease: third.lease).read("notes.txt") == "v1")
        }
    }

    @Test("SessionFileOperation: a lease only opens its own session's files")
    func filesNeedTheSessionsLease() async throws {
        try await Self.withRogueWorker { server, channel, _ in
            let mine = try await server.createSession(["model_id": "openai/gpt-4o-mini"])
            _ = try await server.send(mine, "hello")
            let step = try await DurableLifecycleTests.claimOne(channel, worker: "worker-a")
            let theirs = try await server.createSession(["model_id": "openai/gpt-4o-mini"])

            _ = try await channel.fileSystem(sessionID: mine, lease: step.lease).write("a.txt", content: "mine")
            let trespass = channel.fileSystem(sessionID: theirs, lease: step.lease)
            await #expect(throws: StepChannelError.leaseLost) { _ = try await trespass.write("a.txt", content: "x") }
            await #expect(throws: StepChannelError.leaseLost) { _ = try await trespass.list("/") }
        }
    }
}
