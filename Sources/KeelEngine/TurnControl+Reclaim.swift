import Foundation
import KeelCore

extension TurnControl {
    /// The text of the `turn.failed` that ends a turn which keeps losing its executor.
    static func noProgressMessage(_ reclaims: Int) -> String {
        "The turn was stopped: its step was interrupted \(reclaims) times in a row without making progress."
    }

    func reclaimLoop() async {
        while !Task.isCancelled {
            do {
                try await reclaimStaleSteps()
            } catch where !Task.isCancelled {
                logger.warning("stale-step reclamation failed", metadata: ["error": "\(error)"])
            } catch {}
            try? await Task.sleep(for: policy.reclaimInterval)
        }
    }

    /// Returns steps whose heartbeat is older than the threshold to the queue. A turn whose step
    /// has been reclaimed `noProgressSealThreshold` times in a row without progress (or whose step
    /// has used all its attempts) is ended instead. Returns the number of steps reclaimed or sealed.
    @discardableResult
    public func reclaimStaleSteps() async throws -> Int {
        // Candidates first, without locks; each is then handled in its own transaction that takes
        // the session's lock before the task's (the order every other transaction uses).
        let candidates = try await store.staleTasks(olderThan: policy.staleThreshold, limit: 100)
        var handled = 0
        for candidate in candidates where try await reclaim(candidate) {
            handled += 1
        }
        return handled
    }

    private func reclaim(_ candidate: StaleTask) async throws -> Bool {
        let taskID = candidate.taskID
        return try await store.transaction { tx in
            guard try await tx.lockSession(candidate.sessionID, organizationID: candidate.organizationID),
                let (task, holder) = try await tx.staleTask(taskID, threshold: policy.staleThreshold)
            else { return false }
            let reclaims = try await tx.countReclaim(turnID: task.turnID)
            let lastError = "heartbeat lost: reclaimed from \(holder ?? "an unknown worker")"
            if reclaims >= policy.noProgressSealThreshold || task.attempt >= task.maxAttempts {
                try await deadLetter(
                    taskID, task, reason: "no_progress", error: lastError, errorCode: "no_progress",
                    message: Self.noProgressMessage(reclaims), in: tx)
                return true
            }
            logger.warning(
                "reclaiming a stale step",
                metadata: ["task_id": "\(taskID)", "turn_id": "\(task.turnID)", "worker_id": "\(holder ?? "-")",
                           "attempt": "\(task.attempt)"])
            try await tx.requeueStaleTask(taskID, error: lastError)
            counters.add(reclaims: 1)
            try await tx.notify(.stepsAvailable)
            return true
        }
    }
}
