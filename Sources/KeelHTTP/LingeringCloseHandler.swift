import NIOCore

/// Ends connections the server has finished with. When the server closes its output (after a
/// `Connection: close` response or a refusal) the client may still be sending — a large upload
/// that was answered `413` early. Closing at once would reset the connection and could destroy
/// the response before the client reads it; never reading again would leave the client blocked
/// in its send forever. So, first in the pipeline, this handler reads and discards everything
/// that still arrives and closes the connection when the client closes its side or after
/// `timeout`, whichever comes first.
final class LingeringCloseHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer
    typealias OutboundIn = Any
    typealias OutboundOut = Any

    private let timeout: TimeAmount
    private var lingering = false
    private var inputClosed = false
    private var deadline: Scheduled<Void>?

    init(timeout: Duration) {
        self.timeout = TimeAmount(timeout)
    }

    func close(context: ChannelHandlerContext, mode: CloseMode, promise: EventLoopPromise<Void>?) {
        context.close(mode: mode, promise: promise)
        guard mode == .output, !lingering else { return }
        lingering = true
        if inputClosed { return context.close(promise: nil) }
        deadline = context.eventLoop.assumeIsolated().scheduleTask(in: timeout) {
            context.close(promise: nil)
        }
        // Downstream stopped asking for data (nobody reads a finished connection): ask here.
        context.read()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if !lingering { context.fireChannelRead(data) }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        if lingering {
            context.read()
        } else {
            context.fireChannelReadComplete()
        }
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if case ChannelEvent.inputClosed = event {
            inputClosed = true
            if lingering { return context.close(promise: nil) }
        }
        context.fireUserInboundEventTriggered(event)
    }

    func channelInactive(context: ChannelHandlerContext) {
        deadline?.cancel()
        deadline = nil
        context.fireChannelInactive()
    }
}

@available(*, unavailable)
extension LingeringCloseHandler: Sendable {}
