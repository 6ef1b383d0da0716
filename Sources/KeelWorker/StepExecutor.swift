import Foundation
import KeelCore
import Logging
import ServiceLifecycle
import Synchronization

/// Claims and runs steps until graceful shutdown. At most `concurrency` steps run at once, each
/// in a child task of the executor's task group (structured: shutdown waits for them).
///
/// A step stops early when its turn is cancelled (a notification), when its heartbeat is refused
/// (the lease was lost to reclamation), or when shutdown's grace period ends — then it is handed
/// back so another executor redoes it. Unexpected errors fail the attempt; the control plane
/// retries it with backoff or dead-letters it.
public final class StepExecutor: Service, Sendable {
    let channel: any StepChannel
    let configuration: StepExecutorConfiguration
    let runtime: StepRuntime
    let logger: Logger
    let running = Mutex<[String: RunningStep]>([:])
    private let wake = WakeSignal()
    private let stopping = Atomic<Bool>(false)
    /// Set while an operator drains this worker (the control plane says so in its reports' answers).
    private let draining = Atomic<Bool>(false)
    /// Finished on graceful shutdown, so a claim blocked on an unreachable control plane ends.
    private let stopSignal = Latch()

    public init(channel: any StepChannel, configuration: StepExecutorConfiguration, runtime: StepRuntime, logger: Logger) {
        self.channel = channel
        self.configuration = configuration
        self.runtime = runtime
        self.logger = logger
    }

    public var workerID: String { configuration.workerID }

    public func run() async throws {
        await withGracefulShutdownHandler {
            // Discarding: a plain task group keeps every finished child until `next()` reaps it,
            // and the claim loop never does, so each step ever run stayed in memory.
            await withDiscardingTaskGroup { group in
                group.addTask { await self.followNotifications() }
                group.addTask { await self.reportPresence() }
                await self.claimLoop(group: &group)
                // Claiming stopped: give running steps their grace period, then hand them back.
                group.addTask {
                    try? await Task.sleep(for: self.configuration.shutdownGrace)
                    self.stopAll(reason: .shutdown)
                }
                // Each finished step signals `wake` after leaving `running`.
                while self.running.withLock({ !$0.isEmpty }) {
                    await self.wake.wait(timeout: .milliseconds(100))
                }
                group.cancelAll()
            }
            await self.report(.stopped)
        } onGracefulShutdown: {
            self.stopping.store(true, ordering: .releasing)
            self.stopSignal.signal()
            self.wake.signal()
        }
    }

    private var isStopping: Bool { stopping.load(ordering: .acquiring) || Task.isCancelled }

    private func claimLoop(group: inout DiscardingTaskGroup) async {
        var failures = 0
        while !isStopping {
            let free =
                draining.load(ordering: .acquiring) ? 0 : configuration.concurrency - running.withLock { $0.count }
            var claimed: [ClaimedStep] = []
            if free > 0 {
                do {
                    claimed = try await claimUnlessStopping(limit: free)
                    failures = 0
                } catch {
                    if isStopping { break }
                    logger.warning("cannot claim steps", metadata: ["error": "\(error)"])
                    try? await Task.sleep(for: Self.pauseAfterFailure.delay(forRetry: failures))
                    failures += 1
                    continue
                }
            }
            for step in claimed {
                let handle = RunningStep(turnID: step.turnID)
                running.withLock { $0[step.lease.taskID] = handle }
                group.addTask {
                    await self.execute(step, handle: handle)
                    self.running.withLock { _ = $0.removeValue(forKey: step.lease.taskID) }
                    self.wake.signal()
                }
            }
            // A full batch may mean more work is waiting; otherwise sleep until woken.
            if !claimed.isEmpty && claimed.count == free { continue }
            await waitForWake()
        }
    }

    /// A claim that shutdown abandons (a claim the control plane committed anyway is reclaimed
    /// once its heartbeat goes stale, like any step of a vanished worker).
    private func claimUnlessStopping(limit: Int) async throws -> [ClaimedStep] {
        let claimed: [ClaimedStep]? = try await firstOf({
            try await self.channel.claim(workerID: self.configuration.workerID, limit: limit)
        }, {
            await self.stopSignal.wait()
            return nil
        })
        return claimed ?? []
    }

    /// Returns on a wake-up or after the poll interval.
    private func waitForWake() async {
        await wake.wait(timeout: configuration.pollInterval)
    }

    /// Subscribes to wake-ups and cancellations, resubscribing when the stream drops.
    private func followNotifications() async {
        var failures = 0
        while !isStopping {
            do {
                for try await notification in channel.notifications(workerID: configuration.workerID) {
                    failures = 0
                    switch notification {
                    case .stepsAvailable:
                        wake.signal()
                    case .turnCancelled(let turnID):
                        let handles = running.withLock { $0.values.filter { $0.turnID == turnID } }
                        for handle in handles { handle.stop(.turnCancelled) }
                    }
                }
            } catch {
                if isStopping { break }
                logger.debug("notification stream dropped", metadata: ["error": "\(error)"])
            }
            guard !isStopping else { break }
            // The stream may have missed a wake-up while it was down.
            wake.signal()
            try? await Task.sleep(for: Self.pauseAfterFailure.delay(forRetry: failures))
            failures += 1
        }
    }

    /// Reports the worker's presence and load every heartbeat interval until it stops, and follows
    /// the answer: a drained worker finishes its steps and claims no new ones until undrained.
    private func reportPresence() async {
        while !isStopping {
            await report(.running)
            try? await Task.sleep(for: configuration.heartbeatInterval)
        }
    }

    /// One presence report. A control plane that does not answer within the heartbeat interval is
    /// skipped (the next report tries again; the last one, on shutdown, is best effort).
    private func report(_ state: WorkerReport.State) async {
        let report = WorkerReport(
            workerID: configuration.workerID, address: configuration.address, version: KeelCore.version,
            grade: configuration.grade, concurrency: configuration.concurrency,
            load: running.withLock { $0.count }, state: isStopping && state == .running ? .stopping : state)
        do {
            let directive = try await withTimeout(configuration.heartbeatInterval) {
                try await self.channel.reportWorker(report)
            }
            let wasDraining = draining.exchange(directive.drain, ordering: .acquiringAndReleasing)
            if wasDraining != directive.drain {
                logger.notice(directive.drain ? "worker drained: claiming no new steps" : "worker undrained: claiming again")
                wake.signal()
            }
        } catch {
            logger.debug("cannot report the worker's presence", metadata: ["error": "\(error)"])
        }
    }

    /// The pause before claiming or resubscribing again after a failure: 100 ms doubling to 5 s.
    private static let pauseAfterFailure = Backoff(initial: .milliseconds(100), maximum: .seconds(5))

    private func stopAll(reason: RunningStep.StopReason) {
        for handle in running.withLock({ Array($0.values) }) { handle.stop(reason) }
    }
}
