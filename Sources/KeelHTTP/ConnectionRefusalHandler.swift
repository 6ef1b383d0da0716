import Foundation
import NIOCore

/// Answers a connection over `HTTP_MAX_CONNECTIONS`: a `503` with the error envelope and
/// `Connection: close`, written as soon as the connection is up, then the server's side is
/// closed (the `LingeringCloseHandler` in front of it drains and ends the connection). Whatever
/// the client sends is discarded and never reaches the HTTP decoder.
final class ConnectionRefusalHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    static let response: String = {
        let error = APIError(
            .serviceUnavailable, code: "too_many_connections", "The server has too many open connections; retry shortly")
        let body = (try? JSONEncoder().encode(error.envelope)).map { String(decoding: $0, as: UTF8.self) } ?? "{}"
        return "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\nContent-Length: \(body.utf8.count)\r\n"
            + "Retry-After: 1\r\nConnection: close\r\n\r\n" + body
    }()

    private var answered = false

    func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { refuse(context) }
    }

    func channelActive(context: ChannelHandlerContext) {
        refuse(context)
        context.fireChannelActive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {}

    private func refuse(_ context: ChannelHandlerContext) {
        guard !answered else { return }
        answered = true
        let written = context.eventLoop.makePromise(of: Void.self)
        written.futureResult.assumeIsolated().whenComplete { _ in
            context.close(mode: .output, promise: nil)
        }
        context.writeAndFlush(wrapOutboundOut(ByteBuffer(string: Self.response)), promise: written)
    }
}

@available(*, unavailable)
extension ConnectionRefusalHandler: Sendable {}
