import GRPCCore
import Logging

/// Requires `authorization: Bearer <token>` on every RPC. The comparison takes the same time
/// whatever the first differing byte, and neither the expected nor the presented token is logged.
struct WorkerAuthInterceptor: ServerInterceptor {
    private let expected: [UInt8]
    private let logger: Logger

    init(token: String, logger: Logger) {
        expected = Array(token.utf8)
        self.logger = logger
    }

    func intercept<Input: Sendable, Output: Sendable>(
        request: StreamingServerRequest<Input>,
        context: ServerContext,
        next: @Sendable (StreamingServerRequest<Input>, ServerContext) async throws -> StreamingServerResponse<Output>
    ) async throws -> StreamingServerResponse<Output> {
        guard isAuthorized(request.metadata) else {
            logger.notice(
                "rejected a worker RPC without a valid token",
                metadata: ["rpc": "\(context.descriptor.method)", "peer": "\(context.remotePeer)"])
            throw RPCError(code: .unauthenticated, message: "missing or invalid worker token")
        }
        return try await next(request, context)
    }

    func isAuthorized(_ metadata: Metadata) -> Bool {
        // Exactly one authorization value: several would make "which one counts" ambiguous.
        var values = metadata[stringValues: "authorization"].makeIterator()
        guard let value = values.next(), values.next() == nil else { return false }
        let scheme = "bearer "
        guard value.count > scheme.count, value.prefix(scheme.count).lowercased() == scheme else { return false }
        let presented = value.utf8.dropFirst(scheme.utf8.count)
        return Self.constantTimeEquals(Array(presented), expected)
    }

    /// Compares every byte of the longer input, so the time taken does not depend on where the
    /// inputs differ.
    static func constantTimeEquals(_ lhs: [UInt8], _ rhs: [UInt8]) -> Bool {
        var difference: UInt8 = lhs.count == rhs.count ? 0 : 1
        for index in 0..<max(lhs.count, rhs.count) {
            let left = index < lhs.count ? lhs[index] : 0
            let right = index < rhs.count ? rhs[index] : 0
            difference |= left ^ right
        }
        return difference == 0
    }
}
