import AsyncHTTPClient
import KeelCapabilities
import KeelCore
import Logging
import NIOCore
import ServiceLifecycle
import Synchronization

/// Delivers run-completion webhooks in the background: a swift-service-lifecycle `Service`.
///
/// - `enqueue(_:)` never blocks: deliveries wait in a bounded buffer (`maxPending`, default 1024);
///   when it is full the new delivery is dropped with a warning.
/// - `run()` delivers up to `maxConcurrentDeliveries` (default 8) at once. Each attempt re-checks
///   the receiver's address against the `web_fetch` policy and connects to exactly the address it
///   checked (no DNS rebinding), never following redirects. 5xx, 429, connection errors and
///   timeouts are retried up to `settings.maxAttempts` with exponential backoff (a receiver's
///   `Retry-After` seconds win, capped at `maxBackoff`); other statuses are final.
/// - On graceful shutdown it stops taking work: deliveries still pending, and retries not yet
///   started, are dropped with a warning, while attempts in flight finish (each is bounded by
///   `settings.timeout`). Cancellation stops everything at once.
///
/// Logs carry the delivery id and the URL without user information, query or fragment; never
/// the signing secret or the body.
public final class WebhookDispatcher: Service, Sendable {
    public static let defaultMaxPending = 1024
    public static let defaultMaxConcurrentDeliveries = 8

    public let settings: WebhookSettings
    public let maxPending: Int
    public let maxConcurrentDeliveries: Int
    let logger: Logger
    let sender: WebhookSender
    private let onFinished: (@Sendable (WebhookDeliveryReport) -> Void)?
    private let pending: AsyncStream<WebhookDelivery>
    private let pendingContinuation: AsyncStream<WebhookDelivery>.Continuation
    private let state = Mutex(State())

    private struct State {
        var started = false
        var stopping = false
    }

    /// - Parameters:
    ///   - eventLoopGroup: where the per-attempt HTTP clients run.
    ///   - onFinished: called once per delivery with how it ended (also for dropped ones); must not block.
    public convenience init(
        settings: WebhookSettings, logger: Logger, maxPending: Int = defaultMaxPending,
        maxConcurrentDeliveries: Int = defaultMaxConcurrentDeliveries,
        eventLoopGroup: any EventLoopGroup = HTTPClient.defaultEventLoopGroup,
        onFinished: (@Sendable (WebhookDeliveryReport) -> Void)? = nil
    ) {
        self.init(
            settings: settings, logger: logger, maxPending: maxPending, maxConcurrentDeliveries: maxConcurrentDeliveries,
            eventLoopGroup: eventLoopGroup, resolve: { try await HostResolver.resolve($0) },
            localAddresses: { LocalInterfaceAddresses.current() }, onFinished: onFinished)
    }

    /// Lets tests substitute DNS and this host's own addresses.
    init(
        settings: WebhookSettings, logger: Logger, maxPending: Int = defaultMaxPending,
        maxConcurrentDeliveries: Int = defaultMaxConcurrentDeliveries,
        eventLoopGroup: any EventLoopGroup = HTTPClient.defaultEventLoopGroup,
        resolve: @escaping @Sendable (String) async throws -> [IPAddress],
        localAddresses: @escaping @Sendable () -> Set<IPAddress> = { LocalInterfaceAddresses.current() },
        onFinished: (@Sendable (WebhookDeliveryReport) -> Void)? = nil
    ) {
        self.settings = settings
        self.logger = logger
        self.maxPending = max(1, maxPending)
        self.maxConcurrentDeliveries = max(1, maxConcurrentDeliveries)
        let policy = FetchTargetPolicy(
            allowPrivateAddresses: settings.allowPrivateAddresses, resolve: resolve, localAddresses: localAddresses)
        self.sender = WebhookSender(settings: settings, policy: policy, eventLoopGroup: eventLoopGroup)
        self.onFinished = onFinished
        (pending, pendingContinuation) = AsyncStream.makeStream(bufferingPolicy: .bufferingOldest(self.maxPending))
    }

    /// Checks a webhook URL when a run is created: `nil` when acceptable, else a short reason for
    /// the caller (never quoting the URL). Refused: anything but an absolute http(s) URL, URLs
    /// longer than `settings.maxURLLength`, user information, hosts that do not resolve and —
    /// unless `settings.allowPrivateAddresses` — hosts with any loopback, private, link-local or
    /// other special-purpose address, or one of this host's own. Each attempt checks again.
    public func refusal(forWebhookURL url: String) async -> String? {
        let target: WebhookTarget
        do {
            target = try WebhookTarget(validating: url, maxLength: settings.maxURLLength)
        } catch {
            return error.reason
        }
        do {
            _ = try await sender.addressCheck.addresses(for: target)
        } catch {
            switch error {
            case .unresolvable(let detail): return detail
            case .refused(let refusal): return refusal.reason
            }
        }
        return nil
    }

    /// Queues a delivery; never blocks. Dropped, with a warning, when `maxPending` deliveries are
    /// already waiting or the dispatcher has stopped.
    public func enqueue(_ delivery: WebhookDelivery) {
        switch pendingContinuation.yield(delivery) {
        case .enqueued:
            break
        case .dropped:
            finish(delivery, .dropped, attempts: 0, detail: "pending buffer full (\(maxPending) deliveries)")
        case .terminated:
            finish(delivery, .dropped, attempts: 0, detail: "dispatcher stopped")
        @unknown default:
            finish(delivery, .dropped, attempts: 0, detail: "not queued")
        }
    }

    /// Delivers until graceful shutdown or cancellation. Call at most once.
    public func run() async throws {
        let alreadyStarted = state.withLock { state in
            defer { state.started = true }
            return state.started
        }
        guard !alreadyStarted else {
            logger.error("WebhookDispatcher.run() called more than once; ignoring")
            return
        }
        defer { stop() }
        await withGracefulShutdownHandler {
            await dispatch()
        } onGracefulShutdown: { [self] in
            stop()
        }
    }

    /// Stops taking work: what is still pending is dropped as the loop drains the buffer.
    private func stop() {
        state.withLock { $0.stopping = true }
        pendingContinuation.finish()
    }

    var isStopping: Bool { state.withLock { $0.stopping } }

    private func dispatch() async {
        await withTaskGroup(of: Void.self) { group in
            var iterator = pending.makeAsyncIterator()
            var running = 0
            while true {
                if running >= maxConcurrentDeliveries {
                    await group.next()
                    running -= 1
                }
                guard let delivery = await iterator.next() else { break }
                guard !isStopping else {
                    finish(delivery, .dropped, attempts: 0, detail: "dispatcher shutting down")
                    continue
                }
                group.addTask { [self] in await deliver(delivery) }
                running += 1
            }
            await group.waitForAll()
        }
    }

    /// Logs how a delivery ended and tells `onFinished`.
    func finish(
        _ delivery: WebhookDelivery, _ outcome: WebhookDeliveryReport.Outcome, attempts: Int, status: Int? = nil,
        detail: String? = nil
    ) {
        let metadata: Logger.Metadata = [
            "webhook.id": "\(delivery.id)", "webhook.url": "\(WebhookTarget.loggable(delivery.url))",
            "webhook.attempts": "\(attempts)", "webhook.status": "\(status.map(String.init) ?? "none")",
        ]
        switch outcome {
        case .delivered:
            logger.debug("webhook delivered", metadata: metadata)
        case .rejected, .exhausted, .dropped:
            logger.warning(
                "webhook not delivered", metadata: metadata.merging(["webhook.outcome": "\(outcome)", "reason": "\(detail ?? "")"]) { $1 })
        }
        onFinished?(WebhookDeliveryReport(id: delivery.id, outcome: outcome, attempts: attempts, status: status, detail: detail))
    }
}
