import Foundation
import KeelCore
import Logging
import Synchronization

extension StepExecutor {
    /// Runs one claimed step to its end and reports that end to the control plane.
    func execute(_ claimed: ClaimedStep, handle: RunningStep) async {
        let lease = claimed.lease
        var metadata: Logger.Metadata = [
            "task_id": "\(lease.taskID)", "turn_id": "\(claimed.turnID)", "step": "\(claimed.step.kind)",
            "iteration": "\(claimed.step.iteration)", "attempt": "\(claimed.attempt)",
        ]
        do {
            let completion: StepCompletion? = try await firstOf({ try await self.perform(claimed) }, {
                await self.keepAlive(lease, handle: handle)
                return nil
            })
            guard let completion else { throw CancellationError() }
            try await channel.complete(lease, completion)
        } catch {
            switch handle.stopReason {
            case .shutdown?:
                logger.info("handing back a running step", metadata: metadata)
                // Bounded: with the control plane unreachable the step is reclaimed later instead.
                try? await withTimeout(.seconds(5)) { try await self.channel.release(lease) }
            case .turnCancelled?:
                logger.debug("step stopped: turn cancelled", metadata: metadata)
            case .leaseLost?:
                logger.warning("step stopped: lease lost", metadata: metadata)
            case nil:
                if let channelError = error as? StepChannelError, channelError == .leaseLost {
                    logger.warning("step result discarded: lease lost", metadata: metadata)
                    return
                }
                metadata["error"] = "\(error)"
                logger.error("step failed", metadata: metadata)
                do {
                    try await withTimeout(.seconds(10)) { try await self.channel.fail(lease, error: String(describing: error)) }
                } catch {
                    // The control plane is unreachable: the lease expires and the step is reclaimed.
                    logger.warning("cannot report a failed step", metadata: ["task_id": "\(lease.taskID)"])
                }
            }
        }
    }

    private func perform(_ claimed: ClaimedStep) async throws -> StepCompletion {
        let context = try await channel.context(for: claimed)
        let spec = context.spec
        let capabilities: [Capability]
        do {
            capabilities = try runtime.capabilities(spec.capabilityRefs)
        } catch {
            logger.warning("capability unavailable on this worker", metadata: ["error": "\(error)"])
            capabilities = []
        }
        let plan = spec.plan(tools: capabilities.flatMap(\.tools))
        let driver: any LLMDriver =
            spec.unresolvedModel ? UnavailableModelDriver(error: .unknownModel(spec.modelReference))
            : runtime.driver(spec.providerType)
        let sink = StepEventSink(channel: channel, lease: claimed.lease, sessionID: claimed.sessionID)
        let loop = AgentLoop(
            driver: driver, sink: sink,
            toolContext: ToolContext(
                sessionID: claimed.sessionID, organizationID: spec.organizationID,
                files: channel.fileSystem(sessionID: claimed.sessionID, lease: claimed.lease)),
            logger: logger)
        let outcome = try await loop.run(
            claimed.step, plan: plan, history: context.history, progress: claimed.progress,
            recordedToolResults: context.recordedToolResults)
        switch outcome {
        case .next(let step, let progress, _):
            return StepCompletion(events: sink.heldEvents, next: step, progress: progress, outcome: nil)
        case .waiting(let step, let progress, let request):
            return StepCompletion(events: sink.heldEvents, next: step, progress: progress, outcome: nil, waitingFor: request)
        case .finished(let result):
            var progress = claimed.progress
            progress.iterations = result.iterations
            progress.usage = result.usage
            return StepCompletion(events: sink.heldEvents, next: nil, progress: progress, outcome: result)
        }
    }

    /// Heartbeats until the step ends or must stop; returns when it must stop.
    private func keepAlive(_ lease: StepLease, handle: RunningStep) async {
        await untilEither({ await handle.waitForStop() }, {
            while !Task.isCancelled {
                try? await Task.sleep(for: self.configuration.heartbeatInterval)
                guard !Task.isCancelled else { return }
                do {
                    if try await !self.channel.heartbeat(lease) {
                        handle.stop(.leaseLost)
                        return
                    }
                } catch {
                    // Unreachable control plane: keep working; if the outage outlasts the
                    // stale threshold the step is reclaimed and our completion refused.
                    self.logger.debug("heartbeat failed", metadata: ["error": "\(error)"])
                }
            }
        })
    }
}

/// A step that is running, so a cancellation, a lost lease or shutdown can stop it.
final class RunningStep: Sendable {
    enum StopReason: Sendable { case turnCancelled, leaseLost, shutdown }

    let turnID: String
    private let reason = Mutex<StopReason?>(nil)
    private let stopped = Latch()

    init(turnID: String) {
        self.turnID = turnID
    }

    var stopReason: StopReason? { reason.withLock { $0 } }

    func stop(_ why: StopReason) {
        let first = reason.withLock { current -> Bool in
            guard current == nil else { return false }
            current = why
            return true
        }
        if first { stopped.signal() }
    }

    func waitForStop() async {
        await stopped.wait()
    }
}

