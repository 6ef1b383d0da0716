import Foundation
import KeelCore
import Synchronization

/// An in-memory control plane: records every call it receives, answers from scripted values and
/// lets tests push notifications to subscribers.
final class FakeStepChannel: StepChannel {
    struct Emitted: Sendable, Hashable {
        var events: [EventDraft]
        var sessionID: String
        var lease: StepLease
    }

    struct RecordedToolResult: Sendable, Hashable {
        var toolCallID: String
        var event: EventDraft
        var sessionID: String
        var lease: StepLease
    }

    struct State {
        var claimable: [ClaimedStep] = []
        var claims: [(workerID: String, limit: Int)] = []
        var context: StepContext?
        var contextRequests: [ClaimedStep] = []
        var emitted: [Emitted] = []
        var toolResults: [RecordedToolResult] = []
        var heartbeats: [StepLease] = []
        var completions: [(lease: StepLease, completion: StepCompletion)] = []
        var failures: [(lease: StepLease, error: String)] = []
        var releases: [StepLease] = []
        /// Leases every call refuses with `leaseLost`.
        var lostTasks: Set<String> = []
        /// Leases whose heartbeat answers "stop".
        var stoppedTasks: Set<String> = []
        var subscriptions: [String] = []
        var subscribers: [Int: AsyncThrowingStream<StepNotification, any Error>.Continuation] = [:]
        var nextSubscriber = 0
        var endedSubscriptions = 0
        var files: [String: String] = [:]
        var fileSessions: [String] = []
        var fileLeases: [StepLease] = []
        var reports: [WorkerReport] = []
        var directive = WorkerDirective.run
    }

    /// An error the gRPC layer must not leak to workers.
    struct SecretFailure: Error, CustomStringConvertible {
        var description: String { "database password is hunter2" }
    }

    let state = Mutex(State())

    func with<T>(_ body: (inout State) -> T) -> T { state.withLock { body(&$0) } }

    private func check(_ lease: StepLease) throws {
        if state.withLock({ $0.lostTasks.contains(lease.taskID) }) { throw StepChannelError.leaseLost }
    }

    func claim(workerID: String, limit: Int) async throws -> [ClaimedStep] {
        if workerID == "unknown-worker" { throw StoreError.notFound(kind: "worker", id: workerID) }
        if workerID == "broken-worker" { throw SecretFailure() }
        return state.withLock { state in
            state.claims.append((workerID, limit))
            let steps = Array(state.claimable.prefix(limit))
            state.claimable.removeFirst(steps.count)
            return steps
        }
    }

    func context(for step: ClaimedStep) async throws -> StepContext {
        try check(step.lease)
        return try state.withLock { state in
            state.contextRequests.append(step)
            guard let context = state.context else { throw StoreError.notFound(kind: "session", id: step.sessionID) }
            return context
        }
    }

    func emit(_ events: [EventDraft], sessionID: String, lease: StepLease) async throws {
        try check(lease)
        state.withLock { $0.emitted.append(Emitted(events: events, sessionID: sessionID, lease: lease)) }
    }

    func recordToolResult(toolCallID: String, event: EventDraft, sessionID: String, lease: StepLease) async throws {
        try check(lease)
        state.withLock {
            $0.toolResults.append(RecordedToolResult(toolCallID: toolCallID, event: event, sessionID: sessionID, lease: lease))
        }
    }

    func heartbeat(_ lease: StepLease) async throws -> Bool {
        try check(lease)
        return state.withLock { state in
            state.heartbeats.append(lease)
            return !state.stoppedTasks.contains(lease.taskID)
        }
    }

    func complete(_ lease: StepLease, _ completion: StepCompletion) async throws {
        try check(lease)
        state.withLock { $0.completions.append((lease, completion)) }
    }

    func fail(_ lease: StepLease, error: String) async throws {
        try check(lease)
        state.withLock { $0.failures.append((lease, error)) }
    }

    func reportWorker(_ report: WorkerReport) async throws -> WorkerDirective {
        state.withLock {
            $0.reports.append(report)
            return $0.directive
        }
    }

    func release(_ lease: StepLease) async throws {
        try check(lease)
        state.withLock { $0.releases.append(lease) }
    }

    func notifications(workerID: String) -> AsyncThrowingStream<StepNotification, any Error> {
        let (stream, continuation) = AsyncThrowingStream.makeStream(of: StepNotification.self)
        let id = state.withLock { state -> Int in
            defer { state.nextSubscriber += 1 }
            state.subscriptions.append(workerID)
            state.subscribers[state.nextSubscriber] = continuation
            return state.nextSubscriber
        }
        continuation.onTermination = { [weak self] _ in
            self?.state.withLock { state in
                state.subscribers[id] = nil
                state.endedSubscriptions += 1
            }
        }
        return stream
    }

    /// Sends a notification to every current subscriber.
    func send(_ notification: StepNotification) {
        for subscriber in state.withLock({ Array($0.subscribers.values) }) { subscriber.yield(notification) }
    }

    var activeSubscribers: Int { state.withLock { $0.subscribers.count } }

    /// Like the real channel, every operation checks the lease first.
    func fileSystem(sessionID: String, lease: StepLease) -> any SessionFileSystem {
        state.withLock {
            $0.fileSessions.append(sessionID)
            $0.fileLeases.append(lease)
        }
        return FakeFileSystem(channel: self, lease: lease)
    }
}

/// Files in the fake's state; a missing file is a `ToolError`, as in the real file system.
struct FakeFileSystem: SessionFileSystem {
    let channel: FakeStepChannel
    let lease: StepLease
    static let modifiedAt = Date(timeIntervalSince1970: 1_700_000_000)

    func read(_ path: String) async throws -> String {
        if channel.with({ $0.lostTasks.contains(lease.taskID) }) { throw StepChannelError.leaseLost }
        guard let content = channel.with({ $0.files[path] }) else { throw ToolError("no such file: \(path)") }
        return content
    }

    func write(_ path: String, content: String) async throws -> FileStat {
        channel.with { $0.files[path] = content }
        return FileStat(path: path, isDirectory: false, size: content.utf8.count, modifiedAt: Self.modifiedAt)
    }

    func list(_ path: String) async throws -> [FileStat] {
        channel.with { state in
            state.files.keys.sorted().map {
                FileStat(path: $0, isDirectory: false, size: state.files[$0]!.utf8.count, modifiedAt: Self.modifiedAt)
            }
        }
    }

    func delete(_ path: String) async throws {
        guard channel.with({ $0.files.removeValue(forKey: path) }) != nil else { throw ToolError("no such file: \(path)") }
    }

    func stat(_ path: String) async throws -> FileStat? {
        channel.with { state in
            state.files[path].map {
                FileStat(path: path, isDirectory: false, size: $0.utf8.count, modifiedAt: Self.modifiedAt)
            }
        }
    }
}
