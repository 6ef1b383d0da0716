import AsyncHTTPClient
import Foundation
import KeelCore
import Logging
import ServiceLifecycle
import Synchronization

/// Sends finished turn spans to one Braintrust project as log rows.
///
/// Creating it makes no request: `run()` resolves the project first (the network work belongs to
/// the running service, so a SIGTERM during a slow lookup is an ordinary graceful shutdown), then
/// delivers. Spans submitted while the lookup is still under way wait in the pipeline's bounded
/// queue; if the project cannot be resolved, Braintrust is off for this process (logged once)
/// and later submissions are ignored. ``start(configuration:httpClient:logger:)`` resolves
/// eagerly, for callers that want the outcome before running it.
///
/// Delivery goes through the module's generic ``ExportPipeline`` (named `braintrust`), configured
/// from the `BRAINTRUST_*` knobs: bounded queue (`BRAINTRUST_QUEUE_CAPACITY`), batches of
/// `BRAINTRUST_MAX_BATCH_SIZE` flushed every `BRAINTRUST_FLUSH_INTERVAL_MS`, up to
/// `BRAINTRUST_MAX_RETRIES` retries of 429/5xx/timeouts, drop counting in ``stats``.
final class BraintrustListener: Service, Sendable {
    let configuration: BraintrustSettings
    let client: BraintrustClient
    let pipeline: ExportPipeline
    private let logger: Logger
    private let resolution = Mutex(Resolution.pending)
    private let resolvedProject: ResolvedProject

    private enum Resolution {
        case pending
        case resolved(BraintrustProject)
        case failed
    }

    init(configuration: BraintrustSettings, httpClient: HTTPClient = .shared, logger: Logger) {
        self.configuration = configuration
        self.logger = logger
        let client = BraintrustClient(configuration: configuration, httpClient: httpClient, logger: logger)
        self.client = client
        let resolvedProject = ResolvedProject()
        self.resolvedProject = resolvedProject
        let exporter = BraintrustExporter(
            client: client, project: resolvedProject, mapper: BraintrustRowMapper(configuration: configuration))
        self.pipeline = ExportPipeline(
            name: "braintrust", exporter: exporter, configuration: Self.pipelineConfiguration(configuration), logger: logger)
    }

    /// The project that receives the rows, once resolved.
    var project: BraintrustProject? {
        resolution.withLock { if case .resolved(let project) = $0 { project } else { nil } }
    }

    /// The pipeline settings for the `BRAINTRUST_*` knobs.
    static func pipelineConfiguration(_ configuration: BraintrustSettings) -> ExportPipeline.Configuration {
        ExportPipeline.Configuration(
            maxQueueSize: configuration.queueCapacity, maxBatchSize: configuration.maxBatchSize,
            flushInterval: configuration.flushInterval, maxRetries: configuration.maxRetries,
            initialBackoff: configuration.retryBaseDelay, maxBackoff: configuration.retryMaxDelay,
            // The client bounds each request itself and reports a timeout as retryable; this outer
            // bound only catches what slips past it.
            exportTimeout: configuration.requestTimeout + .seconds(1))
    }

    /// A listener whose project is already resolved, or nil (after the error log of
    /// ``resolveProject()``) when it cannot be.
    static func start(
        configuration: BraintrustSettings, httpClient: HTTPClient = .shared, logger: Logger
    ) async -> BraintrustListener? {
        let listener = BraintrustListener(configuration: configuration, httpClient: httpClient, logger: logger)
        return await listener.resolveProject() ? listener : nil
    }

    /// The wait after failed project lookup number `attempt` (1-based): `retryBaseDelay` doubling
    /// per attempt up to `retryMaxDelay`, never under 100 ms however small the base. One process
    /// looks its project up alone, so there is no jitter.
    static func lookupRetryDelay(afterAttempt attempt: Int, configuration: BraintrustSettings) -> Duration {
        let backoff = Backoff(initial: configuration.retryBaseDelay, maximum: configuration.retryMaxDelay)
        return max(backoff.delay(forRetry: attempt - 1), .milliseconds(100))
    }

    /// Resolves the project (see ``BraintrustClient/resolveProject(timeout:)``), retrying
    /// connection failures, timeouts, 429 and 5xx for up to `configuration.startupTimeout` (waits
    /// double from `retryBaseDelay` up to `retryMaxDelay`, never under 100 ms), and
    /// logs "Braintrust listener initialized" with the project's name and id. Returns false when
    /// the project cannot be resolved — after an error log saying that traces will NOT be sent to
    /// Braintrust and why. Resolves once; later calls return the first outcome.
    @discardableResult
    func resolveProject() async -> Bool {
        switch resolution.withLock({ $0 }) {
        case .resolved: return true
        case .failed: return false
        case .pending: break
        }
        let clock = ContinuousClock()
        let deadline = clock.now + configuration.startupTimeout
        var attempts = 0
        var project: BraintrustProject?
        var failure: (any Error)?
        while project == nil {
            attempts += 1
            let remaining = clock.now.duration(to: deadline)
            do {
                project = try await client.resolveProject(
                    timeout: min(configuration.requestTimeout, max(remaining, .milliseconds(1))))
            } catch let error as BraintrustError where error.isRetryable {
                failure = error
                let delay = Self.lookupRetryDelay(afterAttempt: attempts, configuration: configuration)
                guard clock.now + delay < deadline else { break }
                logger.warning(
                    "Braintrust project lookup failed; retrying",
                    metadata: ["project_name": "\(configuration.projectName)", "reason": "\(error)", "attempt": "\(attempts)"])
                do { try await Task.sleep(for: delay) } catch {
                    failure = error
                    break
                }
            } catch {
                failure = error
                break
            }
        }

        guard let project else {
            resolution.withLock { $0 = .failed }
            let reason = failure.map { $0 is CancellationError ? "startup was cancelled" : "\($0)" } ?? "unknown"
            logger.error(
                "Braintrust listener NOT initialized: could not resolve the Braintrust project, so traces will NOT be sent to Braintrust",
                metadata: [
                    "project_name": "\(configuration.projectName)", "api_url": "\(configuration.apiURL)",
                    "reason": "\(reason)", "attempts": "\(attempts)",
                ])
            return false
        }
        resolvedProject.set(project.id)
        resolution.withLock { $0 = .resolved(project) }
        logger.info(
            "Braintrust listener initialized",
            metadata: [
                "project_name": "\(project.name ?? "(not looked up: BRAINTRUST_PROJECT_ID used as-is)")",
                "project_id": "\(project.id)",
                "api_url": "\(configuration.apiURL)",
                "record_content": "\(configuration.recordContent)",
            ])
        return true
    }

    /// Queues finished spans for delivery; never waits (drops and counts when the queue is full).
    /// Ignored once the project lookup has failed.
    func submit(_ spans: [SpanRecord]) {
        if case .failed = resolution.withLock({ $0 }) { return }
        pipeline.enqueue(spans)
    }

    /// Delivery counters; `stats.droppedSpansTotal` is the figure for a dropped-spans metric.
    var stats: ExportStats { pipeline.stats }

    /// Resolves the project (cancelled by a graceful shutdown), then runs the pipeline: delivers
    /// until graceful shutdown, then flushes what is queued (bounded). Without a project it waits
    /// for shutdown, so a failed lookup never ends the service group.
    func run() async throws {
        let resolved = await cancelWhenGracefulShutdown { await self.resolveProject() }
        guard resolved else {
            try? await gracefulShutdown()
            return
        }
        try await pipeline.run()
    }

    /// Starts the final flush, as a `ServiceGroup`'s graceful shutdown does.
    func beginGracefulShutdown() {
        pipeline.beginGracefulShutdown()
    }
}

/// The project id rows are inserted into, set once the lookup succeeds (the pipeline does not run
/// before that).
final class ResolvedProject: Sendable {
    private let id = Mutex<String?>(nil)

    init(id: String? = nil) {
        self.id.withLock { $0 = id }
    }

    func set(_ value: String) { id.withLock { $0 = value } }
    var value: String? { id.withLock { $0 } }
}
