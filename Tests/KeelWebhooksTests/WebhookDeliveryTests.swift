import Foundation
import KeelCapabilities
import KeelCore
import Synchronization
import KeelTestSupport
import Testing
@testable import KeelWebhooks

@Suite("webhook delivery", .timeLimit(.minutes(1)))
struct WebhookDeliveryTests {
    static let run: JSONValue = [
        "run_id": "run_1", "thread_id": "thread_1", "status": "success",
        "values": ["messages": [["role": "assistant", "content": "done / ok"]], "count": 2],
    ]

    @Test("POSTs the body as compact JSON with signed headers")
    func signedDelivery() async throws {
        try await WebhookHarness.run(settings: WebhookHarness.settings(secret: "whsec_test")) { session in
            let report = try await session.deliver(session.delivery("run_1", body: Self.run))
            #expect(report == WebhookDeliveryReport(id: "run_1", outcome: .delivered, attempts: 1, status: 200))
            let request = try #require(session.receiver.requests.first)
            let text = String(decoding: request.body, as: UTF8.self)
            #expect(JSONValue.parse(text) == Self.run)
            #expect(!text.contains("\n") && !text.contains(": ") && !text.contains("\\/"), "not compact: \(text)")
            #expect(request.headers["content-type"] == "application/json")
            #expect(request.headers["user-agent"] == "keel-webhooks")
            #expect(request.headers["x-keel-webhook-id"] == "run_1")
            let timestamp = try #require(request.headers["x-keel-webhook-timestamp"].flatMap { Int($0) })
            #expect(abs(Double(timestamp) - Date().timeIntervalSince1970) < 60)
            let signature = try #require(request.headers["x-keel-webhook-signature"])
            #expect(signature.wholeMatch(of: /v1=[0-9a-f]{64}/) != nil)
            #expect(WebhookSignature.verify(
                secret: "whsec_test", timestamp: timestamp, body: request.body, signature: signature, tolerance: .seconds(300)))
            #expect(!WebhookSignature.verify(secret: "another", timestamp: timestamp, body: request.body, signature: signature))
        }
    }

    @Test("sends no signature without a secret (nil or empty)", arguments: [nil, ""] as [String?])
    func unsigned(secret: String?) async throws {
        try await WebhookHarness.run(settings: WebhookHarness.settings(secret: secret)) { session in
            let report = try await session.deliver(session.delivery())
            #expect(report.outcome == .delivered)
            let request = try #require(session.receiver.requests.first)
            #expect(request.headers["x-keel-webhook-signature"] == nil)
            #expect(request.headers["x-keel-webhook-timestamp"] == nil)
            #expect(request.headers["x-keel-webhook-id"] == "run_1")
            #expect(request.headers["content-type"] == "application/json")
        }
    }

    @Test("connects to the resolved address and keeps the URL's host name")
    func pinnedConnection() async throws {
        let resolve: @Sendable (String) async throws -> [IPAddress] = { host in
            host == "hooks.example.test" ? [.v4([127, 0, 0, 1])] : []
        }
        try await WebhookHarness.run(resolve: resolve) { session in
            let url = "http://hooks.example.test:\(session.port)/hook"
            let report = try await session.deliver(session.delivery(url: url))
            #expect(report.outcome == .delivered)
            #expect(session.receiver.requests.first?.authority == "hooks.example.test:\(session.port)")
        }
    }

    @Test("checks the address again at delivery: a name rebound to loopback is refused, not contacted")
    func rebindingRefused() async throws {
        let lookups = Mutex(0)
        let resolve: @Sendable (String) async throws -> [IPAddress] = { _ in
            // Public when the run is created, loopback by the time the run finishes.
            lookups.withLock { $0 += 1; return $0 } == 1 ? [.v4([93, 184, 215, 14])] : [.v4([127, 0, 0, 1])]
        }
        var settings = WebhookHarness.settings()
        settings.allowPrivateAddresses = false
        try await WebhookHarness.run(settings: settings, resolve: resolve) { session in
            let url = "http://rebind.example.test:\(session.port)/hook"
            #expect(await session.dispatcher.refusal(forWebhookURL: url) == nil)
            let report = try await session.deliver(session.delivery(url: url))
            #expect(report.outcome == .rejected)
            #expect(report.attempts == 1)
            #expect(report.detail?.contains("loopback") == true, "got \(report.detail ?? "nil")")
            #expect(session.receiver.requests.isEmpty)
        }
    }

    @Test("an invalid URL is rejected without an attempt")
    func invalidURL() async throws {
        try await WebhookHarness.run { session in
            let report = try await session.deliver(session.delivery(url: "ftp://127.0.0.1/hook"))
            #expect(report == WebhookDeliveryReport(
                id: "run_1", outcome: .rejected, attempts: 0, detail: "webhook URL must use http or https"))
        }
    }

    @Test("logs carry neither the signing secret nor the URL's query")
    func logsRedacted() async throws {
        let logs = LogCapture()
        try await WebhookHarness.run(
            [Reply(status: 500)], settings: WebhookHarness.settings(secret: "whsec_private", maxAttempts: 2), logger: logs.logger()
        ) { session in
            let report = try await session.deliver(session.delivery(url: session.hookURL + "?token=query-secret"))
            #expect(report.outcome == .exhausted)
            #expect(session.receiver.requests.count == 2)
        }
        let lines = logs.lines
        #expect(lines.contains { $0.contains("retrying") && $0.contains("/hook") })
        #expect(lines.contains { $0.contains("webhook not delivered") && $0.contains("run_1") })
        #expect(!lines.contains { $0.contains("whsec_private") || $0.contains("query-secret") }, "\(lines)")
    }
}
