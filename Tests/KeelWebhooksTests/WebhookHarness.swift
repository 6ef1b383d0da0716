import Hummingbird
import KeelCapabilities
import KeelCore
import KeelTestSupport
import Logging
import ServiceLifecycle
import Synchronization
@testable import KeelWebhooks

let quietLogger: Logger = {
    var logger = Logger(label: "keel-webhooks-tests")
    logger.logLevel = .critical
    return logger
}()

/// Collects the dispatcher's `onFinished` reports.
final class ReportLog: Sendable {
    private let reports = Mutex<[WebhookDeliveryReport]>([])
    var all: [WebhookDeliveryReport] { reports.withLock { $0 } }
    func record(_ report: WebhookDeliveryReport) { reports.withLock { $0.append(report) } }
    func report(id: String) -> WebhookDeliveryReport? { all.first { $0.id == id } }
}

struct WaitTimedOut: Error, CustomStringConvertible {
    var what: String
    var description: String { "timed out waiting for \(what)" }
}

/// Polls `condition` until it holds; throws after `limit`.
func waitUntil(_ what: String, limit: Duration = .seconds(10), _ condition: () -> Bool) async throws {
    let deadline = ContinuousClock.now + limit
    while !condition() {
        guard ContinuousClock.now < deadline else { throw WaitTimedOut(what: what) }
        try await Task.sleep(for: .milliseconds(5))
    }
}

/// One test's receiver and running dispatcher.
struct WebhookSession: Sendable {
    let dispatcher: WebhookDispatcher
    let receiver: WebhookReceiver
    let reports: ReportLog
    let baseURL: String
    let port: Int
    let serviceGroup: ServiceGroup

    var hookURL: String { baseURL + "/hook" }

    /// Enqueues `delivery` and waits for its report.
    func deliver(_ delivery: WebhookDelivery) async throws -> WebhookDeliveryReport {
        dispatcher.enqueue(delivery)
        return try await report(id: delivery.id)
    }

    func report(id: String) async throws -> WebhookDeliveryReport {
        try await waitUntil("report \(id)") { reports.report(id: id) != nil }
        guard let report = reports.report(id: id) else { throw WaitTimedOut(what: "report \(id)") }
        return report
    }

    func delivery(_ id: String = "run_1", url: String? = nil, body: JSONValue = ["run_id": "run_1"]) -> WebhookDelivery {
        WebhookDelivery(url: url ?? hookURL, body: body, id: id)
    }
}

enum WebhookHarness {
    /// Loopback allowed and millisecond backoffs, so tests talk to the fake receiver quickly.
    static func settings(
        secret: String? = nil, maxAttempts: Int = 5, initialBackoff: Duration = .milliseconds(5),
        maxBackoff: Duration = .milliseconds(50), timeout: Duration = .seconds(5)
    ) -> WebhookSettings {
        WebhookSettings(
            signingSecret: secret, allowPrivateAddresses: true, maxAttempts: maxAttempts, initialBackoff: initialBackoff,
            maxBackoff: maxBackoff, timeout: timeout)
    }

    /// Runs a fake receiver answering with `replies` and a dispatcher in a `ServiceGroup` for the
    /// duration of `body`; `beforeStart` sees the dispatcher before `run()` begins.
    static func run(
        _ replies: [Reply] = [], settings: WebhookSettings = settings(), maxPending: Int = 1024, maxConcurrent: Int = 8,
        resolve: @escaping @Sendable (String) async throws -> [IPAddress] = { try await HostResolver.resolve($0) },
        logger: Logger = quietLogger, beforeStart: (WebhookSession) -> Void = { _ in },
        _ body: (WebhookSession) async throws -> Void
    ) async throws {
        let receiver = WebhookReceiver(replies)
        let reports = ReportLog()
        try await LoopbackServer.run(receiver.router(), label: "keel-webhooks-tests.receiver") { baseURL, port in
            let dispatcher = WebhookDispatcher(
                settings: settings, logger: logger, maxPending: maxPending, maxConcurrentDeliveries: maxConcurrent,
                resolve: resolve, onFinished: { reports.record($0) })
            let group = ServiceGroup(services: [dispatcher], gracefulShutdownSignals: [], logger: quietLogger)
            let session = WebhookSession(
                dispatcher: dispatcher, receiver: receiver, reports: reports, baseURL: baseURL, port: port, serviceGroup: group)
            beforeStart(session)
            try await withThrowingTaskGroup(of: Void.self) { tasks in
                tasks.addTask { try await group.run() }
                do {
                    try await body(session)
                } catch {
                    tasks.cancelAll()
                    throw error
                }
                await group.triggerGracefulShutdown()
                try await tasks.waitForAll()
            }
        }
    }
}
