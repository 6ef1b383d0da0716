import Foundation
import KeelCore
import KeelWorkerRPC
import Testing

@Suite("Worker RPC: worker token")
struct AuthTests {
    @Test func missingTokenIsUnauthenticatedAtConnect() async throws {
        try await withWorkerServer(token: "s3cret") { server in
            let start = ContinuousClock.now
            await #expect(throws: StepChannelError.unauthenticated) {
                try await withWorkerClient(port: server.port, token: nil, connectTimeout: .seconds(30)) { _ in }
            }
            // Refused credentials are not retried until the connect timeout (bound loose for loaded CI machines).
            #expect(ContinuousClock.now - start < .seconds(15))
        }
    }

    @Test func wrongTokenIsUnauthenticatedOnEveryCall() async throws {
        let fake = FakeStepChannel()
        try await withWorkerServer(token: "s3cret", fake: fake) { server in
            await #expect(throws: StepChannelError.unauthenticated) {
                try await withWorkerClient(port: server.port, token: "s3cret-but-longer") { _ in }
            }
            try await withWorkerClient(port: server.port, token: "s3creT", connectTimeout: .zero) { channel in
                await #expect(throws: StepChannelError.unauthenticated) {
                    try await channel.claim(workerID: "worker-a", limit: 1)
                }
                await #expect(throws: StepChannelError.unauthenticated) { try await channel.heartbeat(Fixture.lease) }
                await #expect(throws: StepChannelError.unauthenticated) {
                    try await channel.fileSystem(sessionID: "ses_1", lease: Fixture.lease).read("a.txt")
                }
                await #expect(throws: StepChannelError.unauthenticated) {
                    for try await _ in channel.notifications(workerID: "worker-a") {}
                }
            }
        }
        #expect(fake.with { $0.claims.isEmpty && $0.heartbeats.isEmpty && $0.subscriptions.isEmpty })
    }

    @Test func rightTokenWorks() async throws {
        let fake = FakeStepChannel()
        fake.with { $0.claimable = [Fixture.actStep] }
        try await withWorkerServer(token: "s3cret", fake: fake) { server in
            try await withWorkerClient(port: server.port, token: "s3cret") { channel in
                let steps = try await channel.claim(workerID: "worker-a", limit: 1)
                #expect(steps.map(\.lease) == [Fixture.lease])
                #expect(try await channel.heartbeat(Fixture.lease))
            }
        }
    }

    @Test func serverWithoutTokenAcceptsAnyWorker() async throws {
        try await withWorkerServer(token: nil) { server in
            for token in [nil, "anything"] {
                let proceed = try await withWorkerClient(port: server.port, token: token) { channel in
                    try await channel.heartbeat(Fixture.lease)
                }
                #expect(proceed, "token \(token ?? "none")")
            }
        }
    }
}
