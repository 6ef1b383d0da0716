import KeelCore
import Logging
import ServiceLifecycle

extension WebhookDispatcher {
    /// The wait before retry number `retry` (0-based): `initialBackoff · 2ⁿ` capped at
    /// `maxBackoff`, ±20% jitter (never above the cap), or the receiver's `Retry-After`, also capped.
    func retryDelay(retry: Int, retryAfter: Double?) -> Duration {
        Backoff(initial: settings.initialBackoff, maximum: settings.maxBackoff, jitter: .proportional(0.2))
            .delay(forRetry: retry, retryAfter: retryAfter)
    }

    /// Attempts one delivery until it succeeds, fails for good, runs out of attempts or the
    /// dispatcher stops; then reports it.
    func deliver(_ delivery: WebhookDelivery) async {
        let target: WebhookTarget
        let body: [UInt8]
        do {
            target = try WebhookTarget(validating: delivery.url, maxLength: settings.maxURLLength)
        } catch {
            return finish(delivery, .rejected, attempts: 0, detail: error.reason)
        }
        do {
            body = Array(try KeelJSON.encoder.encode(delivery.body))
        } catch {
            return finish(delivery, .rejected, attempts: 0, detail: "body cannot be encoded as JSON")
        }
        var attempts = 0
        while true {
            attempts += 1
            switch await sender.attempt(target, body: body, id: delivery.id) {
            case .delivered(let status):
                return finish(delivery, .delivered, attempts: attempts, status: status)
            case .rejected(let status, let detail):
                return finish(delivery, .rejected, attempts: attempts, status: status, detail: detail)
            case .cancelled:
                return finish(delivery, .dropped, attempts: attempts, detail: "dispatcher stopped during an attempt")
            case .retryable(let status, let retryAfter, let detail):
                guard attempts < settings.maxAttempts else {
                    return finish(delivery, .exhausted, attempts: attempts, status: status, detail: detail)
                }
                let delay = retryDelay(retry: attempts - 1, retryAfter: retryAfter)
                logger.info(
                    "webhook attempt failed; retrying",
                    metadata: [
                        "webhook.id": "\(delivery.id)", "webhook.url": "\(WebhookTarget.loggable(delivery.url))",
                        "webhook.attempt": "\(attempts)", "webhook.status": "\(status.map(String.init) ?? "none")",
                        "reason": "\(detail)", "delay": "\(delay.shortDescription)",
                    ])
                guard await sleepUnlessStopping(delay) else {
                    return finish(
                        delivery, .dropped, attempts: attempts, status: status,
                        detail: "dispatcher shutting down before the next attempt (last: \(detail))")
                }
            }
        }
    }

    /// Sleeps for `delay`; false (at once) when the dispatcher stops or the task is cancelled first.
    private func sleepUnlessStopping(_ delay: Duration) async -> Bool {
        guard !isStopping else { return false }
        do {
            try await cancelWhenGracefulShutdown { try await Task.sleep(for: delay) }
        } catch {
            return false
        }
        return !isStopping && !Task.isCancelled
    }
}
