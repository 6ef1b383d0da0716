import Foundation
import KeelCore
import Logging
import ServiceLifecycle

/// Work that outlives the request that started it: a run's webhook and its ephemeral thread
/// (both wait for the run's end), and the cancellation of a run whose streaming client went
/// away. Requests hand it over here; `RunCompletionService` does it.
public struct RunCompletions: Sendable {
    public enum Job: Sendable, Hashable {
        case watch(organizationID: String, threadID: String, runID: String)
        case cancel(organizationID: String, threadID: String, runID: String)
    }

    let continuation: AsyncStream<Job>.Continuation
    let jobs: AsyncStream<Job>

    /// At most `bufferLimit` jobs wait to be picked up; more are dropped (and logged by the service).
    public init(bufferLimit: Int = 10_000) {
        (jobs, continuation) = AsyncStream<Job>.makeStream(bufferingPolicy: .bufferingOldest(bufferLimit))
    }

    func watch(organizationID: String, threadID: String, runID: String) {
        submit(.watch(organizationID: organizationID, threadID: threadID, runID: runID))
    }

    func cancel(organizationID: String, threadID: String, runID: String) {
        submit(.cancel(organizationID: organizationID, threadID: threadID, runID: runID))
    }

    private func submit(_ job: Job) {
        if case .dropped = continuation.yield(job) {
            Logger(label: "keel.agent-protocol").warning("run completion job dropped: the queue is full")
        }
    }
}

/// Runs `RunCompletions` jobs: after a run ends, its webhook is handed to `deliver` (the final
/// run as JSON) and an ephemeral thread is deleted `ephemeralGrace` later (so a reader of the
/// run's end gets to read it first). On shutdown the waits end; nothing is retried on restart.
public struct RunCompletionService: Service {
    public typealias Deliver = @Sendable (_ url: String, _ runID: String, _ run: JSONValue) -> Void

    let protocolService: AgentProtocolService
    let completions: RunCompletions
    let deliver: Deliver
    let ephemeralGrace: Duration
    let logger: Logger

    public init(
        protocolService: AgentProtocolService, completions: RunCompletions, ephemeralGrace: Duration = .seconds(2),
        logger: Logger, deliver: @escaping Deliver
    ) {
        self.protocolService = protocolService
        self.completions = completions
        self.ephemeralGrace = ephemeralGrace
        self.logger = logger
        self.deliver = deliver
    }

    public func run() async throws {
        await withDiscardingTaskGroup { group in
            for await job in completions.jobs.cancelOnGracefulShutdown() {
                group.addTask { await handle(job) }
            }
            group.cancelAll()
        }
    }

    func handle(_ job: RunCompletions.Job) async {
        do {
            switch job {
            case .watch(let organizationID, let threadID, let runID):
                let run = try await protocolService.run(runID, threadID: threadID, organizationID: organizationID)
                let projector = try await protocolService.join(run)
                guard projector.isFinished else { return }
                if let webhook = run.data.webhook {
                    deliver(webhook, run.id, protocolService.runJSON(run, projector))
                }
                if run.thread.data.ephemeral == true {
                    try await Task.sleep(for: ephemeralGrace)
                    await protocolService.finishStateless(run, projector)
                }
            case .cancel(let organizationID, let threadID, let runID):
                let run = try await protocolService.run(runID, threadID: threadID, organizationID: organizationID)
                _ = try await protocolService.cancelRun(run)
            }
        } catch is CancellationError {
            return
        } catch AgentProtocolError.notFound {
            return  // the thread went first (deleted by its client, or by a stateless stream's end)
        } catch {
            logger.warning("run completion job failed", metadata: ["job": "\(job)", "error": "\(error)"])
        }
    }
}
