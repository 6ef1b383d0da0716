import NIOCore
import NIOHTTP1

/// Honours `Connection: close` on a response: once that response has been written the server
/// closes its side of the connection (the `LingeringCloseHandler` then ends it). Hummingbird only
/// looks at the request's `Connection` header; this is how a handler that answers early — a
/// `413` for a body still being sent — makes sure the rest of that body is not read as if the
/// connection were still usable.
final class CloseAfterResponseHandler: ChannelOutboundHandler, RemovableChannelHandler {
    typealias OutboundIn = HTTPServerResponsePart
    typealias OutboundOut = HTTPServerResponsePart

    private var closeAfterEnd = false

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        switch unwrapOutboundIn(data) {
        case .head(let head):
            if head.headers[canonicalForm: "connection"].contains(where: { $0.lowercased() == "close" }) {
                closeAfterEnd = true
            }
            context.write(data, promise: promise)
        case .body:
            context.write(data, promise: promise)
        case .end:
            guard closeAfterEnd else { return context.write(data, promise: promise) }
            closeAfterEnd = false
            let written = context.eventLoop.makePromise(of: Void.self)
            written.futureResult.cascade(to: promise)
            written.futureResult.assumeIsolated().whenComplete { _ in
                context.close(mode: .output, promise: nil)
            }
            context.write(data, promise: written)
        }
    }
}

@available(*, unavailable)
extension CloseAfterResponseHandler: Sendable {}
