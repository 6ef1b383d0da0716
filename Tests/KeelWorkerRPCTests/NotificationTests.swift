import Foundation
import KeelCore
import KeelWorkerRPC
import Testing

@Suite("Worker RPC: notifications")
struct NotificationTests {
    @Test func notificationsArriveInOrderAndEndWithTheConsumer() async throws {
        let fake = FakeStepChannel()
        try await withWorkerServer(fake: fake) { server in
            try await withWorkerClient(port: server.port) { channel in
                try await withThrowingTaskGroup(of: [StepNotification].self) { group in
                    group.addTask {
                        var received: [StepNotification] = []
                        for try await notification in channel.notifications(workerID: "worker-a") {
                            received.append(notification)
                            if received.count == 3 { break }
                        }
                        return received
                    }
                    try await eventually("the worker subscribed") { fake.activeSubscribers == 1 }
                    fake.send(.stepsAvailable)
                    fake.send(.turnCancelled(turnID: "turn_9"))
                    fake.send(.stepsAvailable)
                    let received = try await group.next()
                    #expect(received == [.stepsAvailable, .turnCancelled(turnID: "turn_9"), .stepsAvailable])
                }
                // The consumer stopped iterating: the server-side subscription ends too.
                try await eventually("the server-side subscription ended") { fake.activeSubscribers == 0 }
            }
        }
        #expect(fake.with { $0.subscriptions } == ["worker-a"])
        #expect(fake.with { $0.endedSubscriptions } == 1)
    }

    @Test func gracefulShutdownEndsStreamsThenWorkersReconnect() async throws {
        let port = try await unusedPort()
        let first = FakeStepChannel()
        try await withWorkerClient(port: port, connectTimeout: .zero) { channel in
            try await withWorkerServer(port: port, fake: first) { server in
                try await channel.waitUntilConnected(timeout: .seconds(15))
                let (received, forward) = AsyncStream.makeStream(of: StepNotification.self)
                try await withThrowingTaskGroup(of: Void.self) { group in
                    group.addTask {
                        defer { forward.finish() }
                        do {
                            for try await notification in channel.notifications(workerID: "worker-a") {
                                forward.yield(notification)
                            }
                        } catch StepChannelError.unavailable {
                            // The connection may close before the stream's end reaches the client
                            // (seen under load); a worker treats both the same: it resubscribes.
                        }
                    }
                    var iterator = received.makeAsyncIterator()
                    try await eventually("the worker subscribed") { first.activeSubscribers == 1 }
                    first.send(.stepsAvailable)
                    #expect(await iterator.next() == .stepsAvailable)
                    // Shutting down ends the open stream so the server can stop.
                    await server.beginGracefulShutdown()
                    #expect(await iterator.next() == nil)
                    try await group.waitForAll()
                }
            }
            #expect(first.activeSubscribers == 0)

            // Nothing listens now: calls fail fast as unavailable.
            let outage = await #expect(throws: StepChannelError.self) {
                try await channel.claim(workerID: "worker-a", limit: 1)
            }
            guard case .unavailable = outage else {
                Issue.record("expected unavailable, got \(String(describing: outage))")
                return
            }

            // The control plane comes back on the same port: the same client reconnects.
            let second = FakeStepChannel()
            second.with { $0.claimable = [Fixture.reasonStep] }
            try await withWorkerServer(port: port, fake: second) { _ in
                try await channel.waitUntilConnected(timeout: .seconds(15))
                let steps = try await channel.claim(workerID: "worker-a", limit: 1)
                #expect(steps.map(\.lease) == [Fixture.reasonStep.lease])
            }
        }
    }
}
