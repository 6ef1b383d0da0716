import Hummingbird
import KeelAuth
import NIOCore

/// The request context of every Keel route: Hummingbird's core storage, the client address (for
/// the sign-in rate limits) and, once `AuthenticationMiddleware` has run, who the request acts for.
public struct KeelRequestContext: RequestContext, RemoteAddressRequestContext {
    public var coreContext: CoreRequestContextStorage
    public let remoteAddress: SocketAddress?
    var principal: AuthPrincipal?

    public init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        remoteAddress = source.channel.remoteAddress
    }

    /// The client's IP address as text, the key of the per-address limits.
    var clientAddress: String? { remoteAddress?.ipAddress }
}
