import Foundation
import NIOCore
import NIOPosix
import Synchronization

/// A plain TCP connection to a test server, for what HTTP clients hide: partial heads, slow
/// bodies, and exactly when the server closes. Everything received is kept; the server's close
/// (FIN or reset) is recorded. The connection accepts a half-close, so it can keep sending after
/// the server stopped, as a client that writes its whole body before reading does.
final class RawConnection: Sendable {
    struct Response: Sendable {
        var status: Int
        var head: String
        var body: String
    }

    struct Timeout: Error {}

    private final class Collector: ChannelInboundHandler, Sendable {
        typealias InboundIn = ByteBuffer
        struct State {
            var bytes: [UInt8] = []
            var closedByServer = false
        }

        let state = Mutex(State())

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            var buffer = unwrapInboundIn(data)
            let bytes = buffer.readBytes(length: buffer.readableBytes) ?? []
            state.withLock { $0.bytes += bytes }
        }

        func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
            if case ChannelEvent.inputClosed = event { state.withLock { $0.closedByServer = true } }
            context.fireUserInboundEventTriggered(event)
        }

        func channelInactive(context: ChannelHandlerContext) {
            state.withLock { $0.closedByServer = true }
            context.fireChannelInactive()
        }

        func errorCaught(context: ChannelHandlerContext, error: any Error) {
            state.withLock { $0.closedByServer = true }
            context.close(promise: nil)
        }
    }

    private let channel: any Channel
    private let collector: Collector

    private init(channel: any Channel, collector: Collector) {
        self.channel = channel
        self.collector = collector
    }

    static func open(port: Int) async throws -> RawConnection {
        let collector = Collector()
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .channelOption(.allowRemoteHalfClosure, value: true)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture { try channel.pipeline.syncOperations.addHandler(collector) }
            }
            .connect(host: "127.0.0.1", port: port).get()
        return RawConnection(channel: channel, collector: collector)
    }

    func send(_ text: String) async throws {
        try await send(ByteBuffer(string: text))
    }

    func send(_ buffer: ByteBuffer) async throws {
        try await channel.writeAndFlush(buffer).get()
    }

    func close() async {
        try? await channel.close().get()
    }

    var isClosedByServer: Bool { collector.state.withLock { $0.closedByServer } }
    var received: String { collector.state.withLock { String(decoding: $0.bytes, as: UTF8.self) } }

    /// Waits (bounded) until the server has closed the connection; returns how long that took.
    @discardableResult
    func waitUntilClosed(timeout: Duration) async throws -> Duration {
        let started = ContinuousClock.now
        while !isClosedByServer {
            guard ContinuousClock.now - started < timeout else { throw Timeout() }
            try await Task.sleep(for: .milliseconds(10))
        }
        return ContinuousClock.now - started
    }

    /// Waits (bounded) for the next complete response (a `Content-Length` body) and consumes it.
    /// The default bound is a liveness bound for a loaded machine: it only matters when a test fails.
    func response(timeout: Duration = .seconds(30)) async throws -> Response {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if let response = collector.state.withLock({ Self.takeResponse(&$0.bytes) }) { return response }
            try await Task.sleep(for: .milliseconds(10))
        }
        throw Timeout()
    }

    private static func takeResponse(_ bytes: inout [UInt8]) -> Response? {
        let separator = Array("\r\n\r\n".utf8)
        guard let end = bytes.indices.first(where: { bytes[$0...].starts(with: separator) }) else { return nil }
        let head = String(decoding: bytes[..<end], as: UTF8.self)
        let length = head.split(separator: "\r\n")
            .first { $0.lowercased().hasPrefix("content-length:") }
            .flatMap { Int($0.split(separator: ":")[1].trimmingCharacters(in: .whitespaces)) } ?? 0
        let bodyStart = end + separator.count
        guard bytes.count >= bodyStart + length else { return nil }
        let body = String(decoding: bytes[bodyStart..<(bodyStart + length)], as: UTF8.self)
        bytes.removeFirst(bodyStart + length)
        let status = head.split(separator: " ").dropFirst().first.flatMap { Int($0) } ?? 0
        return Response(status: status, head: head, body: body)
    }
}
