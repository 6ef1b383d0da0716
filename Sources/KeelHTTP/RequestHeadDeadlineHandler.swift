import NIOCore
import NIOHTTP1

/// Closes a connection whose request head is not complete `timeout` after the connection opened,
/// or after the first bytes of a following keep-alive request arrived (slowloris). Sits right
/// after the HTTP/1 decoder: a decoded head disarms the deadline; bytes that decode to nothing
/// still reach `channelReadComplete`, which is how the start of a next request is noticed.
final class RequestHeadDeadlineHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias InboundOut = HTTPServerRequestPart
    typealias OutboundIn = HTTPServerResponsePart
    typealias OutboundOut = HTTPServerResponsePart

    private enum State {
        /// Waiting for a head, with the deadline armed.
        case awaitingHead
        /// Heads received whose responses have not ended yet.
        case exchanging(openRequests: Int)
        /// Between requests; Hummingbird's idle timeout applies.
        case idle
    }

    private let timeout: TimeAmount
    private var state = State.awaitingHead
    private var deadline: Scheduled<Void>?

    init(timeout: Duration) {
        self.timeout = TimeAmount(timeout)
    }

    func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { arm(context) }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        disarm()
    }

    func channelActive(context: ChannelHandlerContext) {
        arm(context)
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        disarm()
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if case .head = unwrapInboundIn(data) {
            disarm()
            if case .exchanging(let open) = state {
                state = .exchanging(openRequests: open + 1)
            } else {
                state = .exchanging(openRequests: 1)
            }
        }
        context.fireChannelRead(data)
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        if case .idle = state {
            // Bytes arrived between requests without completing a head: a new request has begun.
            state = .awaitingHead
            arm(context)
        }
        context.fireChannelReadComplete()
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        if case .end = unwrapOutboundIn(data), case .exchanging(let open) = state {
            state = open > 1 ? .exchanging(openRequests: open - 1) : .idle
        }
        context.write(data, promise: promise)
    }

    private func arm(_ context: ChannelHandlerContext) {
        guard deadline == nil, case .awaitingHead = state else { return }
        deadline = context.eventLoop.assumeIsolated().scheduleTask(in: timeout) { [self] in
            deadline = nil
            guard case .awaitingHead = state else { return }
            context.close(promise: nil)
        }
    }

    private func disarm() {
        deadline?.cancel()
        deadline = nil
    }
}

@available(*, unavailable)
extension RequestHeadDeadlineHandler: Sendable {}
