import Testing
@testable import KeelWebhooks

@Suite("webhook dispatcher lifecycle", .timeLimit(.minutes(1)))
struct WebhookDispatcherLifecycleTests {
    @Test("drops deliveries when the pending buffer is full, delivers the rest")
    func bufferFull() async throws {
        try await WebhookHarness.run(maxPending: 2, beforeStart: { session in
            for index in 1...4 { session.dispatcher.enqueue(session.delivery("run_\(index)")) }
        }) { session in
            for id in ["run_3", "run_4"] {
                let report = try await session.report(id: id)
                #expect(report == WebhookDeliveryReport(
                    id: id, outcome: .dropped, attempts: 0, detail: "pending buffer full (2 deliveries)"))
            }
            for id in ["run_1", "run_2"] { #expect(try await session.report(id: id).outcome == .delivered) }
            #expect(session.receiver.requests.count == 2)
        }
    }

    @Test("delivers at most maxConcurrentDeliveries at once")
    func boundedConcurrency() async throws {
        try await WebhookHarness.run([Reply(status: 200, delay: .seconds(1))], maxConcurrent: 2) { session in
            for index in 1...6 { session.dispatcher.enqueue(session.delivery("run_\(index)")) }
            try await waitUntil("six reports") { session.reports.all.count == 6 }
            #expect(session.reports.all.allSatisfy { $0.outcome == .delivered })
            #expect(session.receiver.maxInFlight == 2)
        }
    }

    @Test("graceful shutdown finishes the attempt in flight and drops what is pending")
    func gracefulShutdown() async throws {
        try await WebhookHarness.run([Reply(status: 200, delay: .milliseconds(300))], maxConcurrent: 1) { session in
            session.dispatcher.enqueue(session.delivery("run_1"))
            session.dispatcher.enqueue(session.delivery("run_2"))
            try await waitUntil("first request") { session.receiver.requests.count == 1 }
            await session.serviceGroup.triggerGracefulShutdown()
            #expect(try await session.report(id: "run_1").outcome == .delivered)
            #expect(try await session.report(id: "run_2") == WebhookDeliveryReport(
                id: "run_2", outcome: .dropped, attempts: 0, detail: "dispatcher shutting down"))
            try await waitUntil("dispatcher stopped") { session.dispatcher.isStopping }
            session.dispatcher.enqueue(session.delivery("run_3"))
            #expect(try await session.report(id: "run_3").outcome == .dropped)
            #expect(session.receiver.requests.count == 1)
        }
    }

    @Test("graceful shutdown cuts a retry wait short")
    func shutdownDuringBackoff() async throws {
        let settings = WebhookHarness.settings(initialBackoff: .seconds(20), maxBackoff: .seconds(20))
        try await WebhookHarness.run([Reply(status: 503)], settings: settings) { session in
            session.dispatcher.enqueue(session.delivery("run_1"))
            try await waitUntil("first request") { session.receiver.requests.count == 1 }
            try await Task.sleep(for: .milliseconds(50))
            let start = ContinuousClock.now
            await session.serviceGroup.triggerGracefulShutdown()
            let report = try await session.report(id: "run_1")
            #expect(report.outcome == .dropped)
            #expect(report.attempts == 1)
            #expect(report.status == 503)
            #expect(ContinuousClock.now - start < .seconds(5))
        }
    }
}
