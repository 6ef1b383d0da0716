import Testing
@testable import KeelWebhooks

@Suite("webhook retries", .timeLimit(.minutes(1)))
struct WebhookRetryTests {
    @Test("retries 500 and 503, then delivers")
    func retriesServerErrors() async throws {
        try await WebhookHarness.run([Reply(status: 500), Reply(status: 503), Reply(status: 204)]) { session in
            let report = try await session.deliver(session.delivery())
            #expect(report == WebhookDeliveryReport(id: "run_1", outcome: .delivered, attempts: 3, status: 204))
            #expect(session.receiver.requests.count == 3)
            // Every attempt carries the same delivery id.
            #expect(Set(session.receiver.requests.map { $0.headers["x-keel-webhook-id"] }) == ["run_1"])
        }
    }

    /// (status, Retry-After, maxBackoff in ms, the wait expected in ms, a wait that would be wrong in
    /// ms): honoured (not the 5 s maxBackoff), and capped at maxBackoff (not the hour asked for;
    /// anything near 30 s already means the cap was ignored).
    static let retryAfterCases: [(Int, String, Int, Int, Int)] = [
        (429, "1", 5000, 1000, 5000), (503, "3600", 200, 200, 30_000),
    ]

    @Test("waits Retry-After seconds before the next attempt, at most maxBackoff", arguments: retryAfterCases)
    func retryAfter(status: Int, header: String, maxBackoffMs: Int, expectedMs: Int, wrongMs: Int) async throws {
        let settings = WebhookHarness.settings(maxBackoff: .milliseconds(maxBackoffMs))
        try await WebhookHarness.run([Reply(status: status, headers: ["Retry-After": header]), Reply(status: 200)], settings: settings) {
            session in
            let report = try await session.deliver(session.delivery())
            #expect(report.outcome == .delivered)
            #expect(report.attempts == 2)
            let arrivals = session.receiver.requests.map(\.arrival)
            let gap = arrivals[1] - arrivals[0]
            let expected = Duration.milliseconds(expectedMs)
            // The upper bound is the wrong wait, not a speed target: a loaded machine (CI building
            // beside it) has taken 2.3 s for the 200 ms one.
            #expect(gap >= expected * 0.95 && gap < .milliseconds(wrongMs), "second attempt after \(gap)")
        }
    }

    @Test("does not retry other 4xx statuses or redirects", arguments: [400, 401, 404, 410, 302])
    func clientErrorsFinal(status: Int) async throws {
        try await WebhookHarness.run([Reply(status: status, headers: ["Location": "/hook"]), Reply(status: 200)]) { session in
            let report = try await session.deliver(session.delivery())
            #expect(report.outcome == .rejected)
            #expect(report.attempts == 1)
            #expect(report.status == status)
            try await Task.sleep(for: .milliseconds(100))
            #expect(session.receiver.requests.count == 1)
        }
    }

    @Test("gives up after maxAttempts")
    func exhausted() async throws {
        try await WebhookHarness.run([Reply(status: 502)], settings: WebhookHarness.settings(maxAttempts: 3)) { session in
            let report = try await session.deliver(session.delivery())
            #expect(report == WebhookDeliveryReport(id: "run_1", outcome: .exhausted, attempts: 3, status: 502, detail: "HTTP 502"))
            try await Task.sleep(for: .milliseconds(100))
            #expect(session.receiver.requests.count == 3)
        }
    }

    @Test("a slow receiver's timeout counts as a failed attempt")
    func timeout() async throws {
        let settings = WebhookHarness.settings(maxAttempts: 2, timeout: .milliseconds(600))
        // The receiver answers long after the timeout, so even a loaded machine sees both attempts time out.
        try await WebhookHarness.run([Reply(status: 200, delay: .seconds(5))], settings: settings) { session in
            let start = ContinuousClock.now
            let report = try await session.deliver(session.delivery())
            #expect(report.outcome == .exhausted)
            #expect(report.attempts == 2)
            #expect(report.status == nil)
            #expect(report.detail?.contains("timed out") == true, "got \(report.detail ?? "nil")")
            // Waiting for the answer would take at least its 5 s; two 600 ms timeouts and a backoff
            // take about 1.5 s, more on a loaded machine (4.4 s seen beside the whole suite).
            #expect(ContinuousClock.now - start < .seconds(5), "each attempt ends at its timeout, not the receiver's answer")
            // How many reached the receiver before their timeout depends on the machine's load.
            #expect(session.receiver.requests.count <= 2)
        }
    }

    @Test("retries connection errors")
    func connectionRefused() async throws {
        try await WebhookHarness.run(settings: WebhookHarness.settings(maxAttempts: 2)) { session in
            // Port 1 (tcpmux) has no listener on a test machine: the connection is refused.
            let report = try await session.deliver(session.delivery(url: "http://127.0.0.1:1/hook"))
            #expect(report.outcome == .exhausted)
            #expect(report.attempts == 2)
            #expect(report.status == nil)
            #expect(report.detail?.hasPrefix("request failed") == true, "got \(report.detail ?? "nil")")
        }
    }

    @Test("backoff doubles from initialBackoff with ±20% jitter, capped at maxBackoff")
    func schedule() {
        let dispatcher = WebhookDispatcher(settings: WebhookSettings(), logger: quietLogger)
        for (retry, nominal) in [(0, 1.0), (1, 2.0), (2, 4.0), (3, 8.0), (4, 16.0)] {
            let delay = dispatcher.retryDelay(retry: retry, retryAfter: nil)
            #expect(delay >= .seconds(nominal * 0.8) && delay <= .seconds(nominal * 1.2), "retry \(retry): \(delay)")
        }
        let late = dispatcher.retryDelay(retry: 9, retryAfter: nil)
        #expect(late >= .seconds(24) && late <= .seconds(30))
        #expect(dispatcher.retryDelay(retry: 0, retryAfter: 7) == .seconds(7))
        #expect(dispatcher.retryDelay(retry: 0, retryAfter: 120) == .seconds(30))
    }

    @Test("Retry-After is read as delay-seconds only")
    func retryAfterParsing() {
        #expect(WebhookAttemptOutcome.retryAfterSeconds(" 12 ") == 12)
        #expect(WebhookAttemptOutcome.retryAfterSeconds("-3") == 0)
        #expect(WebhookAttemptOutcome.retryAfterSeconds("Wed, 21 Oct 2015 07:28:00 GMT") == nil)
        #expect(WebhookAttemptOutcome.retryAfterSeconds("inf") == nil)
        #expect(WebhookAttemptOutcome.retryAfterSeconds(nil) == nil)
    }
}
