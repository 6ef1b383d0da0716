import Foundation
import GRPCCore
import KeelCore
import KeelWorkerRPC
import Testing

@Suite("Worker RPC: calls that hand out data are refused without the lease")
struct LeaseDeniedTests {
    @Test("GetStepContext and SessionFileOperation answer PERMISSION_DENIED, with no context")
    func permissionDenied() async throws {
        let fake = FakeStepChannel()
        fake.with {
            $0.lostTasks = [Fixture.lease.taskID]
            $0.context = Fixture.context
        }
        try await withWorkerServer(fake: fake) { server in
            try await withRawClient(port: server.port) { client in
                var contextRequest = Keel_Worker_V1_GetStepContextRequest()
                contextRequest.stepJson = try KeelJSON.encoder.encode(Fixture.actStep)
                let contextError = await #expect(throws: RPCError.self) { _ = try await client.getStepContext(contextRequest) }
                #expect(contextError?.code == .permissionDenied)
                #expect(contextError?.message.contains("sk-decrypted") == false)

                var fileRequest = Keel_Worker_V1_SessionFileOperationRequest()
                fileRequest.sessionID = "ses_1"
                fileRequest.lease.taskID = Fixture.lease.taskID
                fileRequest.lease.workerID = Fixture.lease.workerID
                fileRequest.operationJson = try KeelJSON.encoder.encode(FileOperation.read(path: "a.txt"))
                let fileError = await #expect(throws: RPCError.self) { _ = try await client.sessionFileOperation(fileRequest) }
                #expect(fileError?.code == .permissionDenied)

                // A file operation without a lease is malformed.
                fileRequest.clearLease()
                let missing = await #expect(throws: RPCError.self) { _ = try await client.sessionFileOperation(fileRequest) }
                #expect(missing?.code == .invalidArgument)
            }
        }
    }
}

@Suite("Worker RPC: TLS", .serialized)
struct TLSTests {
    /// A throw-away self-signed certificate for 127.0.0.1 and localhost, made with the openssl CLI.
    static func withCertificate(_ body: (_ certificate: String, _ key: String) async throws -> Void) async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("keel-tls-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let certificate = directory.appendingPathComponent("cert.pem").path
        let key = directory.appendingPathComponent("key.pem").path
        let openssl = Process()
        openssl.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        openssl.arguments = [
            "openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
            "-keyout", key, "-out", certificate, "-days", "1", "-subj", "/CN=keel-worker-rpc-test",
            "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost",
        ]
        openssl.standardOutput = FileHandle.nullDevice
        openssl.standardError = FileHandle.nullDevice
        try openssl.run()
        openssl.waitUntilExit()
        try #require(openssl.terminationStatus == 0, "openssl could not make a certificate")
        try await body(certificate, key)
    }

    @Test("a worker trusting the server's CA connects; a plaintext or untrusting worker is refused")
    func tlsListener() async throws {
        try await Self.withCertificate { certificate, key in
            let fake = FakeStepChannel()
            fake.with { $0.claimable = [Fixture.reasonStep] }
            let tls = WorkerRPCTLS.Server(certificateChainFile: certificate, privateKeyFile: key)
            try await withWorkerServer(fake: fake, tls: tls) { server in
                let trusted = WorkerRPCTLS.Client(trustRootsFile: certificate)
                let claimed = try await withWorkerClient(port: server.port, tls: trusted) { channel in
                    try await channel.claim(workerID: "worker-a", limit: 1)
                }
                #expect(claimed.map(\.lease) == [Fixture.reasonStep.lease])

                let named = WorkerRPCTLS.Client(trustRootsFile: certificate, serverName: "localhost")
                try await withWorkerClient(port: server.port, tls: named) { channel in
                    try await channel.waitUntilConnected(timeout: .seconds(10))
                }

                let plaintext = await #expect(throws: StepChannelError.self) {
                    try await withWorkerClient(port: server.port, connectTimeout: .seconds(1)) { _ in }
                }
                guard case .unavailable? = plaintext else {
                    Issue.record("a plaintext worker must not get through, got \(String(describing: plaintext))")
                    return
                }
                // A worker trusting another CA does not accept this server's certificate.
                try await Self.withCertificate { otherCertificate, _ in
                    let untrusting = WorkerRPCTLS.Client(trustRootsFile: otherCertificate)
                    await #expect(throws: StepChannelError.self) {
                        try await withWorkerClient(port: server.port, tls: untrusting, connectTimeout: .seconds(1)) { _ in }
                    }
                }
            }
            #expect(fake.with { $0.claims.count } == 1, "only the trusted worker's claim arrived")
        }
    }
}
