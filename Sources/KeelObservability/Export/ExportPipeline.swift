import KeelCore
import Logging
import ServiceLifecycle
import Synchronization

/// Counters of one `ExportPipeline`, read as a consistent snapshot.
struct ExportStats: Sendable, Hashable {
    /// Spans the destination accepted.
    var exportedSpans: Int = 0
    /// Spans never attempted: the queue was full, the pipeline had stopped, or they were still
    /// queued when the shutdown deadline passed.
    var droppedSpans: Int = 0
    /// Spans attempted but given up on: a permanent error, or retries exhausted.
    var failedSpans: Int = 0
    /// Export calls that succeeded.
    var exportedBatches: Int = 0
    /// Batches given up on.
    var failedBatches: Int = 0
    /// Retry attempts made (not counting first attempts).
    var retries: Int = 0
    /// Spans waiting in the queue right now (the batch being exported is not included).
    var queuedSpans: Int = 0

    init() {}

    /// Every span that will never reach the destination (`droppedSpans + failedSpans`), the figure
    /// for a `…_spans_dropped_total` metric.
    var droppedSpansTotal: Int { droppedSpans + failedSpans }
}

/// One destination's export path: a bounded queue, batching, retries and counters.
///
/// - `enqueue(_:)` is synchronous and never waits: spans go into a bounded in-memory queue
///   (default 2048) and, when it is full, the newest spans are dropped and counted. A slow or
///   dead destination therefore never slows the caller, and since each destination has its own
///   pipeline, never another destination.
/// - A worker (started by `run()`, a ServiceLifecycle `Service`) exports batches of up to
///   `maxBatchSize` spans, as soon as a batch is full or every `flushInterval`.
/// - Retryable failures (`ExportError.retryable`, and attempts that exceed `exportTimeout`) are
///   retried up to `maxRetries` times with exponential backoff and jitter, capped at `maxBackoff`;
///   a server's `Retry-After` replaces the backoff (also capped). Permanent failures are not retried.
/// - On graceful shutdown the queue is flushed, bounded by `shutdownTimeout`; spans still queued
///   then are counted as dropped. Exporters must honour task cancellation for the bound to hold.
/// - Warnings are logged for drops (at most once per flush interval) and for abandoned batches,
///   with the destination name, counts and statuses only: never header values.
///
/// Register pipelines in the `ServiceGroup` *before* the services that produce spans, so they
/// shut down after them and can flush what those produced; keep their `HTTPClient` alive until the
/// group has finished.
final class ExportPipeline: Service, Sendable, CustomStringConvertible {
    struct Configuration: Sendable, Hashable {
        var maxQueueSize: Int
        var maxBatchSize: Int
        var flushInterval: Duration
        var maxRetries: Int
        var initialBackoff: Duration
        var maxBackoff: Duration
        /// Bound on each export attempt.
        var exportTimeout: Duration
        /// Bound on the final flush once graceful shutdown begins.
        var shutdownTimeout: Duration

        init(
            maxQueueSize: Int = 2048, maxBatchSize: Int = 512, flushInterval: Duration = .seconds(1),
            maxRetries: Int = 3, initialBackoff: Duration = .milliseconds(500), maxBackoff: Duration = .seconds(10),
            exportTimeout: Duration = .seconds(10), shutdownTimeout: Duration = .seconds(5)
        ) {
            self.maxQueueSize = max(1, maxQueueSize)
            self.maxBatchSize = max(1, maxBatchSize)
            self.flushInterval = flushInterval
            self.maxRetries = max(0, maxRetries)
            self.initialBackoff = initialBackoff
            self.maxBackoff = maxBackoff
            self.exportTimeout = exportTimeout
            self.shutdownTimeout = shutdownTimeout
        }
    }

    private struct State {
        var queue: [SpanRecord] = []
        var stats = ExportStats()
        var flushDue = false
        var shuttingDown = false
        var started = false
        var stopped = false
        var reportedDrops = 0
    }

    /// The destination's name, used in logs and metrics labels (`langfuse`, `phoenix`, …).
    let name: String
    let configuration: Configuration
    private let exporter: any SpanExporter
    private let logger: Logger
    private let state = Mutex(State())
    private let wakeups: AsyncStream<Void>
    private let wakeupContinuation: AsyncStream<Void>.Continuation
    private let shutdownSignal: AsyncStream<Void>
    private let shutdownContinuation: AsyncStream<Void>.Continuation

    init(
        name: String, exporter: any SpanExporter, configuration: Configuration = Configuration(),
        logger: Logger = Logger(label: "keel.trace.export")
    ) {
        self.name = name
        self.exporter = exporter
        self.configuration = configuration
        var logger = logger
        logger[metadataKey: "trace.destination"] = "\(name)"
        self.logger = logger
        (wakeups, wakeupContinuation) = AsyncStream.makeStream(bufferingPolicy: .bufferingNewest(1))
        (shutdownSignal, shutdownContinuation) = AsyncStream.makeStream(bufferingPolicy: .bufferingNewest(1))
    }

    var description: String { "ExportPipeline(\(name), \(exporter))" }

    /// A snapshot of the counters.
    var stats: ExportStats {
        state.withLock { state in
            var stats = state.stats
            stats.queuedSpans = state.queue.count
            return stats
        }
    }

    var exportedSpans: Int { stats.exportedSpans }
    var droppedSpans: Int { stats.droppedSpans }
    var failedSpans: Int { stats.failedSpans }
    /// See `ExportStats.droppedSpansTotal`.
    var droppedSpansTotal: Int { stats.droppedSpansTotal }

    /// Queues spans for export. Never blocks or suspends: when the queue is full, or the pipeline
    /// has stopped, the spans that do not fit are dropped and counted.
    func enqueue(_ spans: [SpanRecord]) {
        guard !spans.isEmpty else { return }
        let batchReady = state.withLock { state -> Bool in
            guard !state.stopped else {
                state.stats.droppedSpans += spans.count
                return false
            }
            let room = max(0, configuration.maxQueueSize - state.queue.count)
            if room >= spans.count {
                state.queue.append(contentsOf: spans)
            } else {
                state.queue.append(contentsOf: spans.prefix(room))
                state.stats.droppedSpans += spans.count - room
            }
            return state.queue.count >= configuration.maxBatchSize
        }
        if batchReady { wakeupContinuation.yield() }
    }

    /// Starts the final flush, as a `ServiceGroup`'s graceful shutdown does.
    func beginGracefulShutdown() {
        state.withLock { $0.shuttingDown = true }
        shutdownContinuation.yield()
        shutdownContinuation.finish()
        wakeupContinuation.yield()
    }

    /// Runs the worker until graceful shutdown (then flushes, bounded) or cancellation.
    /// Call at most once.
    func run() async throws {
        let alreadyStarted = state.withLock { state in
            defer { state.started = true }
            return state.started
        }
        guard !alreadyStarted else {
            logger.error("ExportPipeline.run() called more than once; ignoring")
            return
        }
        let connected = exporter as? any ConnectionOwningSpanExporter
        await withTaskGroup(of: Void.self) { background in
            if let connected {
                background.addTask { [logger] in
                    do {
                        try await connected.runConnections()
                    } catch {
                        logger.error("trace exporter connections stopped", metadata: ["error": "\(error)"])
                    }
                }
            }
            background.addTask { [self] in
                while true {
                    do { try await Task.sleep(for: configuration.flushInterval) } catch { return }
                    state.withLock { $0.flushDue = true }
                    wakeupContinuation.yield()
                }
            }

            await withTaskGroup(of: Void.self) { work in
                work.addTask { [self] in
                    await withGracefulShutdownHandler {
                        await processUntilShutdown()
                    } onGracefulShutdown: { [self] in
                        beginGracefulShutdown()
                    }
                    if !Task.isCancelled { await drain() }
                }
                work.addTask { [self] in
                    // The shutdown deadline: starts when shutdown begins, cancels the work when it passes.
                    for await _ in shutdownSignal { break }
                    guard !Task.isCancelled else { return }
                    try? await Task.sleep(for: configuration.shutdownTimeout)
                }
                await work.next()
                work.cancelAll()
            }

            connected?.beginGracefulShutdown()
            background.cancelAll()
        }
        reportDrops()
        let leftOver = state.withLock { state in
            state.stopped = true
            let count = state.queue.count
            state.stats.droppedSpans += count
            state.reportedDrops = state.stats.droppedSpans
            state.queue.removeAll()
            return count
        }
        wakeupContinuation.finish()
        if leftOver > 0 {
            logger.warning("trace export stopped with spans still queued; dropped them", metadata: ["spans": "\(leftOver)"])
        }
    }

    // MARK: - Worker

    private func processUntilShutdown() async {
        for await _ in wakeups {
            await drain()
            reportDrops()
            if state.withLock({ $0.shuttingDown }) { return }
        }
    }

    /// Exports every full batch, and partial ones when a flush is due or shutdown has begun.
    private func drain() async {
        while !Task.isCancelled {
            let batch = state.withLock { state -> [SpanRecord]? in
                if state.queue.isEmpty {
                    state.flushDue = false
                    return nil
                }
                guard state.queue.count >= configuration.maxBatchSize || state.flushDue || state.shuttingDown else {
                    return nil
                }
                let count = min(configuration.maxBatchSize, state.queue.count)
                let batch = Array(state.queue.prefix(count))
                state.queue.removeFirst(count)
                return batch
            }
            guard let batch else { return }
            await exportWithRetry(batch)
        }
    }

    private func exportWithRetry(_ batch: [SpanRecord]) async {
        var attempt = 0
        while true {
            let outcome: ExportError?
            do {
                try await attemptExport(batch)
                state.withLock {
                    $0.stats.exportedSpans += batch.count
                    $0.stats.exportedBatches += 1
                }
                return
            } catch let error as ExportError {
                outcome = error
            } catch {
                if Task.isCancelled || error is CancellationError {
                    abandon(batch, reason: "shutdown deadline passed", status: nil)
                    return
                }
                // An exporter outside the ExportError contract: do not guess that retrying helps.
                outcome = .permanent(status: nil, detail: "unexpected \(type(of: error))")
            }
            if Task.isCancelled {
                abandon(batch, reason: "shutdown deadline passed", status: nil)
                return
            }
            switch outcome {
            case .retryable(let status, let retryAfter)?:
                guard attempt < configuration.maxRetries else {
                    abandon(batch, reason: "retries exhausted", status: status)
                    return
                }
                let delay = retryDelay(attempt: attempt, retryAfter: retryAfter)
                attempt += 1
                state.withLock { $0.stats.retries += 1 }
                logger.debug(
                    "trace export failed; retrying",
                    metadata: ["status": "\(status.map(String.init) ?? "none")", "attempt": "\(attempt)", "delay": "\(delay)"])
                do {
                    try await Task.sleep(for: delay)
                } catch {
                    abandon(batch, reason: "shutdown deadline passed", status: status)
                    return
                }
            case .permanent(let status, let detail)?:
                abandon(batch, reason: "rejected: \(detail)", status: status)
                return
            case nil:
                return
            }
        }
    }

    /// One attempt, bounded by `exportTimeout` (a timeout is retryable).
    private func attemptExport(_ batch: [SpanRecord]) async throws {
        let exporter = exporter
        try await withTimeout(configuration.exportTimeout, throwing: { ExportError.retryable(status: nil, retryAfter: nil) }) {
            try await exporter.export(batch)
        }
    }

    func retryDelay(attempt: Int, retryAfter: Double?) -> Duration {
        // Equal jitter: half fixed, half random, so retries from many processes spread out.
        Backoff(initial: configuration.initialBackoff, maximum: configuration.maxBackoff, jitter: .equal)
            .delay(forRetry: attempt, retryAfter: retryAfter)
    }

    private func abandon(_ batch: [SpanRecord], reason: String, status: Int?) {
        state.withLock {
            $0.stats.failedSpans += batch.count
            $0.stats.failedBatches += 1
        }
        logger.warning(
            "trace export failed; batch dropped",
            metadata: ["spans": "\(batch.count)", "reason": "\(reason)", "status": "\(status.map(String.init) ?? "none")"])
    }

    private func reportDrops() {
        let (newDrops, total) = state.withLock { state -> (Int, Int) in
            let new = state.stats.droppedSpans - state.reportedDrops
            state.reportedDrops = state.stats.droppedSpans
            return (new, state.stats.droppedSpans)
        }
        if newDrops > 0 {
            logger.warning(
                "trace export queue full; spans dropped",
                metadata: ["dropped": "\(newDrops)", "dropped_total": "\(total)", "max_queue_size": "\(configuration.maxQueueSize)"])
        }
    }
}
