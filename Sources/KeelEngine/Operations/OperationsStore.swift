import Foundation
import KeelCore

/// What the operations API reads and changes outside turn transactions: the worker registry, the
/// queue's summary and listings, dead letters and the operations log. PostgreSQL only
/// (`PostgresOperationsStore`): DEV_MODE has no queue an operator could repair.
public protocol OperationsStore: Sendable {
    /// Records a worker's report and answers whether it is drained.
    func recordWorker(_ report: WorkerReport) async throws -> WorkerDirective
    /// Workers by last report; a worker silent for `staleAfter` is `lost`. `includeGone` adds
    /// stopped and lost workers (seen within the last hour).
    func workers(includeGone: Bool, staleAfter: Duration) async throws -> [WorkerRecord]
    /// One worker seen within the last day; nil otherwise.
    func worker(id: String, staleAfter: Duration) async throws -> WorkerRecord?
    /// Drains (or undrains) a worker; nil when no such worker has reported.
    func setDraining(workerID: String, _ draining: Bool, staleAfter: Duration) async throws -> WorkerRecord?

    func queueSummary(_ scope: OperationsScope, staleAfter: Duration) async throws -> QueueSummary
    func turns(_ scope: OperationsScope, status: String?, limit: Int) async throws -> [DurableTurnRecord]
    /// One turn with its step history (every step, oldest first).
    func turn(id: String, _ scope: OperationsScope) async throws -> DurableTurnRecord?
    func tasks(_ scope: OperationsScope, status: String?, limit: Int) async throws -> [DurableTaskRecord]
    func deadLetters(_ scope: OperationsScope, includeRequeued: Bool, limit: Int) async throws -> [DeadLetterRecord]
    func deadLetter(taskID: String, _ scope: OperationsScope) async throws -> DeadLetterRecord?

    /// Appends to the operations log.
    @discardableResult
    func appendEvent(type: String, organizationID: String?, data: JSONValue) async throws -> OperationsEvent
    /// Log entries after `id` the scope may see, oldest first.
    func events(after id: Int64, _ scope: OperationsScope, limit: Int) async throws -> [OperationsEvent]
    /// The newest log entry's id (0 when empty).
    func latestEventID() async throws -> Int64
}
