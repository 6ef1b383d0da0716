import Foundation
import KeelCore
import KeelWorkerRPC
import Testing

@Suite("Worker RPC: connecting")
struct ConnectTests {
    @Test func waitsForAControlPlaneThatStartsLater() async throws {
        let port = try await unusedPort()
        let fake = FakeStepChannel()
        fake.with { $0.claimable = [Fixture.actStep] }
        let (done, finish) = AsyncStream.makeStream(of: Void.self)
        let (clientWaiting, markWaiting) = AsyncStream.makeStream(of: Void.self)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                // The control plane comes up only after the worker has begun waiting for it; the
                // half second is the scenario (a few refused attempts first), not synchronisation.
                for await _ in clientWaiting { break }
                try await Task.sleep(for: .milliseconds(500))
                try await withWorkerServer(port: port, fake: fake) { _ in
                    for await _ in done {}
                }
            }
            try await withWorkerClient(port: port, connectTimeout: .zero) { channel in
                let start = ContinuousClock.now
                markWaiting.yield()
                try await channel.waitUntilConnected(timeout: .seconds(30))
                let waited = ContinuousClock.now - start
                #expect(waited >= .milliseconds(450), "connected before the control plane started")
                #expect(waited < .seconds(30))
                #expect(try await channel.claim(workerID: "worker-a", limit: 1).map(\.lease) == [Fixture.lease])
            }
            finish.finish()
            try await group.waitForAll()
        }
    }

    @Test func failsAsUnavailableWhenNothingListens() async throws {
        let port = try await unusedPort()
        let start = ContinuousClock.now
        let error = await #expect(throws: StepChannelError.self) {
            try await withWorkerClient(port: port, connectTimeout: .milliseconds(300)) { _ in }
        }
        let waited = ContinuousClock.now - start
        guard case .unavailable(let message) = error else {
            Issue.record("expected unavailable, got \(String(describing: error))")
            return
        }
        #expect(message == "could not reach the control plane at 127.0.0.1:\(port) within 0.3 s")
        #expect(waited >= .milliseconds(280))
        #expect(waited < .seconds(10))
    }
}
