import Hummingbird
import Logging
import ServiceLifecycle

/// KeelTestSupport — helpers shared by the test targets.
///
/// `LoopbackServer` runs a Hummingbird router on 127.0.0.1 with an ephemeral port for the duration
/// of a test body: the fake providers, collectors and web servers the tests talk to.
public enum LoopbackServer {
    public struct NotStarted: Error {}

    public static func run<Result: Sendable>(
        _ router: Router<BasicRequestContext>, label: String = "loopback-server",
        _ body: (_ baseURL: String, _ port: Int) async throws -> Result
    ) async throws -> Result {
        var logger = Logger(label: label)
        logger.logLevel = .critical
        let (ports, portContinuation) = AsyncStream<Int>.makeStream()
        let app = Application(
            router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)),
            onServerRunning: { channel in
                portContinuation.yield(channel.localAddress?.port ?? 0)
                portContinuation.finish()
            },
            logger: logger)
        let services = ServiceGroup(configuration: .init(services: [app], logger: logger))
        return try await withThrowingTaskGroup(of: Void.self, returning: Result.self) { group in
            group.addTask { try await services.run() }
            defer { group.cancelAll() }
            var iterator = ports.makeAsyncIterator()
            guard let port = await iterator.next(), port > 0 else { throw NotStarted() }
            let result = try await body("http://127.0.0.1:\(port)", port)
            // Never cancel a server that may hold accepted but unserved connections: NIO traps
            // (apple/swift-nio#3481). A graceful shutdown closes the listener and serves what was
            // accepted; only handlers still running after the bound (deliberately hanging fakes)
            // are cancelled, when nothing is left unserved.
            await services.triggerGracefulShutdown()
            group.addTask { try? await Task.sleep(for: .seconds(3)) }
            _ = try? await group.next()
            return result
        }
    }
}
