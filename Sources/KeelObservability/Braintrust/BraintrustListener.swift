import AsyncHTTPClient
import Foundation
import Logging
import ServiceLifecycle

/// Sends finished turn spans to one Braintrust project as log rows.
///
/// Create it with ``start(configuration:httpClient:logger:)``, which resolves the project once.
/// Delivery goes through the module's generic ``ExportPipeline`` (named `braintrust`), configured
/// from the `BRAINTRUST_*` knobs: bounded queue (`BRAINTRUST_QUEUE_CAPACITY`), batches of
/// `BRAINTRUST_MAX_BATCH_SIZE` flushed every `BRAINTRUST_FLUSH_INTERVAL_MS`, up to
/// `BRAINTRUST_MAX_RETRIES` retries of 429/5xx/timeouts, drop counting in ``stats``.
///
/// Either put ``pipeline`` into the server's `SpanFanOut` and `ServiceGroup`, or use the
/// listener itself (``submit(_:)`` and its `Service` conformance, which runs the pipeline) —
/// not both: the pipeline's worker runs once.
public final class BraintrustListener: Service, Sendable {
    public let configuration: BraintrustConfiguration
    /// The project that receives the rows.
    public let project: BraintrustProject
    public let exporter: BraintrustExporter
    public let pipeline: ExportPipeline

    init(configuration: BraintrustConfiguration, project: BraintrustProject, exporter: BraintrustExporter, logger: Logger) {
        self.configuration = configuration
        self.project = project
        self.exporter = exporter
        self.pipeline = ExportPipeline(
            name: "braintrust", exporter: exporter, configuration: Self.pipelineConfiguration(configuration), logger: logger)
    }

    /// The pipeline settings for the `BRAINTRUST_*` knobs.
    public static func pipelineConfiguration(_ configuration: BraintrustConfiguration) -> ExportPipeline.Configuration {
        ExportPipeline.Configuration(
            maxQueueSize: configuration.queueCapacity, maxBatchSize: configuration.maxBatchSize,
            flushInterval: configuration.flushInterval, maxRetries: configuration.maxRetries,
            initialBackoff: configuration.retryBaseDelay, maxBackoff: configuration.retryMaxDelay,
            // The client bounds each request itself and reports a timeout as retryable; this outer
            // bound only catches what slips past it.
            exportTimeout: configuration.requestTimeout + .seconds(1))
    }

    /// Resolves the project (see ``BraintrustClient/resolveProject(timeout:)``), retrying
    /// connection failures, timeouts, 429 and 5xx for up to `configuration.startupTimeout`, and
    /// logs "Braintrust listener initialized" with the project's name and id.
    ///
    /// Returns nil when the project cannot be resolved — after an error log saying that traces
    /// will NOT be sent to Braintrust and why. The server keeps running either way.
    public static func start(
        configuration: BraintrustConfiguration, httpClient: HTTPClient = .shared, logger: Logger
    ) async -> BraintrustListener? {
        let client = BraintrustClient(configuration: configuration, httpClient: httpClient, logger: logger)
        let clock = ContinuousClock()
        let deadline = clock.now + configuration.startupTimeout
        var attempts = 0
        var project: BraintrustProject?
        var failure: (any Error)?
        while project == nil {
            attempts += 1
            let remaining = clock.now.duration(to: deadline)
            do {
                project = try await client.resolveProject(timeout: min(configuration.requestTimeout, max(remaining, .milliseconds(1))))
            } catch let error as BraintrustError where error.isRetryable {
                failure = error
                let delay = max(
                    min(configuration.retryBaseDelay * (1 << min(attempts - 1, 20)), configuration.retryMaxDelay),
                    .milliseconds(100))
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
            let reason = failure.map { $0 is CancellationError ? "startup was cancelled" : "\($0)" } ?? "unknown"
            logger.error(
                "Braintrust listener NOT initialized: could not resolve the Braintrust project, so traces will NOT be sent to Braintrust",
                metadata: [
                    "project_name": "\(configuration.projectName)", "api_url": "\(configuration.apiURL)",
                    "reason": "\(reason)", "attempts": "\(attempts)",
                ])
            return nil
        }

        let exporter = BraintrustExporter(
            client: client, projectID: project.id, mapper: BraintrustRowMapper(configuration: configuration))
        let listener = BraintrustListener(configuration: configuration, project: project, exporter: exporter, logger: logger)
        logger.info(
            "Braintrust listener initialized",
            metadata: [
                "project_name": "\(project.name ?? "(not looked up: BRAINTRUST_PROJECT_ID used as-is)")",
                "project_id": "\(project.id)",
                "api_url": "\(configuration.apiURL)",
                "record_content": "\(configuration.recordContent)",
            ])
        return listener
    }

    /// Queues finished spans for delivery; never waits (drops and counts when the queue is full).
    public func submit(_ spans: [SpanRecord]) {
        pipeline.enqueue(spans)
    }

    /// Delivery counters; `stats.droppedSpansTotal` is the figure for a dropped-spans metric.
    public var stats: ExportStats { pipeline.stats }

    /// Runs the pipeline: delivers until graceful shutdown, then flushes what is queued (bounded).
    public func run() async throws {
        try await pipeline.run()
    }

    /// Starts the final flush, as a `ServiceGroup`'s graceful shutdown does.
    public func beginGracefulShutdown() {
        pipeline.beginGracefulShutdown()
    }
}
