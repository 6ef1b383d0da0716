import HummingbirdCore
import Logging
import NIOCore
import NIOHTTP1

/// Bounds on the server's HTTP connections, so idle, half-sent or surplus connections cannot
/// exhaust descriptors (`HTTP_HEADER_TIMEOUT_SECS`, `HTTP_IDLE_TIMEOUT_SECS`, `HTTP_MAX_CONNECTIONS`).
public struct HTTPConnectionSettings: Sendable {
    /// A request head must be complete this long after the connection opens, or after the first
    /// byte of a following request arrives. A deadline, not a read timeout: a client trickling one
    /// byte at a time is cut all the same.
    public var headerTimeout: Duration
    /// A keep-alive connection with no request in flight is closed after this long. It never
    /// applies while a response is being written, so quiet SSE streams stay open.
    public var idleTimeout: Duration
    /// Open connections at most. One more is answered with a `503` error envelope and closed.
    public var maxConnections: Int
    /// Once the server has closed its side of a connection (`Connection: close`, a refusal), it
    /// keeps reading and discarding what the client still sends for at most this long, so a client
    /// that is still uploading can read the response instead of seeing a reset; then it closes.
    public var lingerTimeout: Duration

    public init(
        headerTimeout: Duration = .seconds(10), idleTimeout: Duration = .seconds(60), maxConnections: Int = 12_000,
        lingerTimeout: Duration = .seconds(2)
    ) {
        self.headerTimeout = headerTimeout
        self.idleTimeout = idleTimeout
        self.maxConnections = maxConnections
        self.lingerTimeout = lingerTimeout
    }
}

extension HTTPServerBuilder {
    /// Hummingbird's HTTP/1 server with Keel's connection bounds (see `HTTPConnectionSettings`).
    public static func keel(_ settings: HTTPConnectionSettings, logger: Logger) -> HTTPServerBuilder {
        let admission = ConnectionAdmission(maxConnections: settings.maxConnections, logger: logger)
        return HTTPServerBuilder { responder in
            BoundedHTTP1Channel(responder: responder, settings: settings, admission: admission)
        }
    }
}

/// `HTTP1Channel` plus the handlers that enforce `HTTPConnectionSettings`. The idle timeout is
/// Hummingbird's own (it measures time between requests and pauses while a response is written);
/// the rest are added around its pipeline:
///
///     LingeringCloseHandler | [ConnectionRefusalHandler] | HTTP/1 decoder | RequestHeadDeadlineHandler,
///     CloseAfterResponseHandler | Hummingbird's codec, idle handler and request handling
struct BoundedHTTP1Channel: ServerChildChannel {
    typealias Value = HTTP1Channel.Value

    let http1: HTTP1Channel
    let settings: HTTPConnectionSettings
    let admission: ConnectionAdmission

    init(responder: @escaping HTTPChannelHandler.Responder, settings: HTTPConnectionSettings, admission: ConnectionAdmission) {
        self.http1 = HTTP1Channel(responder: responder, configuration: .init(idleTimeout: TimeAmount(settings.idleTimeout)))
        self.settings = settings
        self.admission = admission
    }

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        let settings = settings
        let admission = admission
        return http1.setup(channel: channel, logger: logger).flatMapThrowing { value in
            let pipeline = channel.pipeline.syncOperations
            if admission.admit() {
                channel.closeFuture.whenComplete { _ in admission.release() }
                let decoder = try pipeline.handler(type: ByteToMessageHandler<HTTPRequestDecoder>.self)
                try pipeline.addHandler(CloseAfterResponseHandler(), position: .after(decoder))
                try pipeline.addHandler(RequestHeadDeadlineHandler(timeout: settings.headerTimeout), position: .after(decoder))
            } else {
                try pipeline.addHandler(ConnectionRefusalHandler(), position: .first)
            }
            try pipeline.addHandler(LingeringCloseHandler(timeout: settings.lingerTimeout), position: .first)
            return value
        }
    }

    func handle(value: Value, logger: Logger) async {
        await http1.handle(value: value, logger: logger)
    }
}
