import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2
import KeelCore
import Logging
import SwiftProtobuf

/// A `StepChannel` for `keel worker` processes: every call goes to the control plane's
/// `WorkerRPCServer` over gRPC (HTTP/2, plaintext or TLS).
///
/// Obtain one with `withConnection(…)`, which runs the client's connections for the duration of
/// its body. The client reconnects by itself when the control plane goes away; calls made while it
/// is unreachable fail fast with `StepChannelError.unavailable`, so callers retry with their own
/// backoff. Status codes map back to the errors the in-process channel throws:
/// `failedPrecondition` and `permissionDenied` (a step context or file operation for a step the
/// worker does not hold) → `StepChannelError.leaseLost`, `unauthenticated` →
/// `StepChannelError.unauthenticated`, `unavailable` / `deadlineExceeded` →
/// `StepChannelError.unavailable`, `notFound` → `StoreError.notFound`, `aborted` →
/// `StoreError.conflict`; other statuses are rethrown as `RPCError`.
public final class GRPCStepChannel: StepChannel {
    /// Upper bound for one unary call, so a wedged connection cannot stall a step forever.
    static let callTimeout = Duration.seconds(60)

    private let client: Keel_Worker_V1_WorkerService.Client<HTTP2ClientTransport.Posix>
    private let metadata: Metadata
    private let logger: Logger
    private let subscriptionRequests: AsyncStream<Subscription>.Continuation
    /// Signalled when `withConnection`'s body has returned: ends the notification streams.
    private let closed = Latch()

    /// `host:port` of the control plane, for messages.
    public let endpoint: String

    private init(
        client: GRPCClient<HTTP2ClientTransport.Posix>, endpoint: String, authToken: String?, logger: Logger,
        subscriptionRequests: AsyncStream<Subscription>.Continuation
    ) {
        self.client = Keel_Worker_V1_WorkerService.Client(wrapping: client)
        self.endpoint = endpoint
        var metadata = Metadata()
        if let authToken, !authToken.isEmpty {
            metadata.addString("Bearer \(authToken)", forKey: "authorization")
        }
        self.metadata = metadata
        self.logger = logger
        self.subscriptionRequests = subscriptionRequests
    }

    /// Runs a gRPC client connected to the control plane at `host:port` while `body` runs, then
    /// shuts it down gracefully (ending open notification streams).
    ///
    /// Before calling `body` it waits up to `connectTimeout` for the control plane to answer
    /// (`waitUntilConnected(timeout:)`), so a worker started before the control plane waits for it;
    /// `.zero` skips the wait. `host` may be an IPv4 or IPv6 literal or a DNS name. `authToken`,
    /// when set, travels as `authorization: Bearer <token>` on every call. With `tls` the
    /// connection is TLS and the server's certificate is verified against its trust roots.
    public static func withConnection<R>(
        host: String, port: Int, authToken: String?, tls: WorkerRPCTLS.Client? = nil, connectTimeout: Duration,
        logger: Logger, isolation: isolated (any Actor)? = #isolation,
        _ body: (GRPCStepChannel) async throws -> R
    ) async throws -> R {
        let transport = try HTTP2ClientTransport.Posix(
            target: target(host: host, port: port), transportSecurity: tls?.transportSecurity ?? .plaintext,
            config: .defaults { config in
                if let serverName = tls?.serverName { config.http2.authority = serverName }
                // Reconnect quickly after a control-plane restart.
                config.backoff = .init(initial: .milliseconds(100), max: .seconds(3), multiplier: 1.6, jitter: 0.2)
                // Notice a dead control plane under a long-lived notification stream.
                config.connection.keepalive = .init(time: .seconds(30), timeout: .seconds(10), allowWithoutCalls: true)
            })
        let client = GRPCClient(transport: transport)
        let (requests, requestsContinuation) = AsyncStream.makeStream(of: Subscription.self)
        let endpoint = host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
        let channel = GRPCStepChannel(
            client: client, endpoint: endpoint, authToken: authToken, logger: logger,
            subscriptionRequests: requestsContinuation)

        return try await withThrowingTaskGroup(of: Void.self, returning: R.self) { group in
            group.addTask { try await client.runConnections() }
            group.addTask { await channel.serveSubscriptions(requests) }

            let result: Result<R, any Error>
            do {
                if connectTimeout > .zero {
                    try await channel.waitUntilConnected(timeout: connectTimeout)
                }
                result = .success(try await body(channel))
            } catch {
                result = .failure(error)
            }

            channel.close()
            client.beginGracefulShutdown()
            while !group.isEmpty {
                do {
                    try await group.next()
                } catch {
                    logger.debug("worker gRPC client stopped with an error", metadata: ["error": "\(error)"])
                }
            }
            return try result.get()
        }
    }

    /// Waits until the control plane answers a `Ping`, retrying with backoff (100 ms doubling to
    /// 1 s) while it is unreachable. Throws `StepChannelError.unavailable` when `timeout` passes
    /// first, and `StepChannelError.unauthenticated` at once when the token is refused.
    public func waitUntilConnected(timeout: Duration) async throws {
        let clock = ContinuousClock()
        let deadline = clock.now.advanced(by: timeout)
        let backoff = Backoff(initial: .milliseconds(100), maximum: .seconds(1))
        var attempts = 0
        while true {
            attempts += 1
            let remaining = clock.now.duration(to: deadline)
            if remaining > .zero {
                do {
                    var options = Self.options
                    options.timeout = max(remaining, .milliseconds(10))
                    _ = try await client.ping(Keel_Worker_V1_PingRequest(), metadata: metadata, options: options)
                    logger.debug("connected to the control plane", metadata: ["endpoint": "\(endpoint)", "attempts": "\(attempts)"])
                    return
                } catch {
                    let mapped = mapError(error)
                    // Only an unreachable control plane is worth waiting for.
                    guard case StepChannelError.unavailable = mapped else { throw mapped }
                    logger.debug("control plane not reachable yet", metadata: ["endpoint": "\(endpoint)", "error": "\(mapped)"])
                }
            }
            let delay = backoff.delay(forRetry: attempts - 1)
            if clock.now.advanced(by: delay) >= deadline {
                // Wait out the remainder, then try one last time unless it has already passed.
                let rest = clock.now.duration(to: deadline)
                if rest > .milliseconds(5) {
                    try await Task.sleep(for: rest)
                    continue
                }
                throw StepChannelError.unavailable(
                    "could not reach the control plane at \(endpoint) within \(Self.format(timeout))")
            }
            try await Task.sleep(for: delay)
        }
    }

    // MARK: StepChannel

    public func claim(workerID: String, limit: Int) async throws -> [ClaimedStep] {
        var request = Keel_Worker_V1_ClaimStepsRequest()
        request.workerID = workerID
        request.limit = Int32(clamping: limit)
        let response = try await call { try await client.claimSteps(request, metadata: metadata, options: $0) }
        return try response.stepsJson.map { try decodeResponse(ClaimedStep.self, from: $0) }
    }

    public func context(for step: ClaimedStep) async throws -> StepContext {
        var request = Keel_Worker_V1_GetStepContextRequest()
        request.stepJson = try WireFormat.encode(step)
        let response = try await call { try await client.getStepContext(request, metadata: metadata, options: $0) }
        return try decodeResponse(StepContext.self, from: response.contextJson)
    }

    public func emit(_ events: [EventDraft], sessionID: String, lease: StepLease) async throws {
        var request = Keel_Worker_V1_EmitEventsRequest()
        request.sessionID = sessionID
        request.lease = WireFormat.lease(lease)
        request.eventsJson = try WireFormat.encode(events)
        _ = try await call { try await client.emitEvents(request, metadata: metadata, options: $0) }
    }

    public func recordToolResult(toolCallID: String, event: EventDraft, sessionID: String, lease: StepLease) async throws {
        var request = Keel_Worker_V1_RecordToolResultRequest()
        request.sessionID = sessionID
        request.lease = WireFormat.lease(lease)
        request.toolCallID = toolCallID
        request.eventJson = try WireFormat.encode(event)
        _ = try await call { try await client.recordToolResult(request, metadata: metadata, options: $0) }
    }

    public func heartbeat(_ lease: StepLease) async throws -> Bool {
        var request = Keel_Worker_V1_HeartbeatStepRequest()
        request.lease = WireFormat.lease(lease)
        return try await call { try await client.heartbeatStep(request, metadata: metadata, options: $0) }.shouldContinue
    }

    public func reportWorker(_ report: WorkerReport) async throws -> WorkerDirective {
        var request = Keel_Worker_V1_ReportWorkerRequest()
        request.reportJson = try WireFormat.encode(report)
        let response = try await call { try await client.reportWorker(request, metadata: metadata, options: $0) }
        return try decodeResponse(WorkerDirective.self, from: response.directiveJson)
    }

    public func complete(_ lease: StepLease, _ completion: StepCompletion) async throws {
        var request = Keel_Worker_V1_CompleteStepRequest()
        request.lease = WireFormat.lease(lease)
        request.completionJson = try WireFormat.encode(completion)
        _ = try await call { try await client.completeStep(request, metadata: metadata, options: $0) }
    }

    public func fail(_ lease: StepLease, error: String) async throws {
        var request = Keel_Worker_V1_FailStepRequest()
        request.lease = WireFormat.lease(lease)
        request.error = error
        _ = try await call { try await client.failStep(request, metadata: metadata, options: $0) }
    }

    public func release(_ lease: StepLease) async throws {
        var request = Keel_Worker_V1_ReleaseStepRequest()
        request.lease = WireFormat.lease(lease)
        _ = try await call { try await client.releaseStep(request, metadata: metadata, options: $0) }
    }

    /// Fed by a `SubscribeNotifications` stream that runs in `withConnection`'s task group. The
    /// stream finishes when the server ends the subscription or the client shuts down, and throws
    /// (`StepChannelError.unavailable`, …) when the connection drops; callers subscribe again.
    /// Dropping the stream (or cancelling its consumer) ends the subscription.
    public func notifications(workerID: String) -> AsyncThrowingStream<StepNotification, any Error> {
        let (stream, continuation) = AsyncThrowingStream.makeStream(of: StepNotification.self)
        let stop = Latch()
        continuation.onTermination = { _ in stop.signal() }
        let subscription = Subscription(workerID: workerID, continuation: continuation, stop: stop)
        if case .terminated = subscriptionRequests.yield(subscription) {
            continuation.finish(
                throwing: StepChannelError.unavailable("the connection to the control plane at \(endpoint) is closed"))
        }
        return stream
    }

    public func fileSystem(sessionID: String, lease: StepLease) -> any SessionFileSystem {
        RemoteSessionFileSystem { [self] operation in
            var request = Keel_Worker_V1_SessionFileOperationRequest()
            request.sessionID = sessionID
            request.lease = WireFormat.lease(lease)
            request.operationJson = try WireFormat.encode(operation)
            let response = try await call { try await client.sessionFileOperation(request, metadata: metadata, options: $0) }
            return try decodeResponse(FileOperationResult.self, from: response.resultJson)
        }
    }

    // MARK: Internals

    struct Subscription: Sendable {
        var workerID: String
        var continuation: AsyncThrowingStream<StepNotification, any Error>.Continuation
        /// Signalled when the consumer goes away.
        var stop: Latch
    }

    /// Options for every call: fail fast while the control plane is unreachable (callers retry),
    /// and allow large step contexts.
    static var options: CallOptions {
        var options = CallOptions.defaults
        options.waitForReady = false
        options.timeout = callTimeout
        options.maxRequestMessageBytes = WireFormat.maxMessageBytes
        options.maxResponseMessageBytes = WireFormat.maxMessageBytes
        return options
    }

    /// A subscription lasts as long as the connection: no deadline.
    static var streamOptions: CallOptions {
        var options = options
        options.timeout = nil
        return options
    }

    private func call<T>(_ body: (CallOptions) async throws -> T) async throws -> T {
        do {
            return try await body(Self.options)
        } catch {
            throw mapError(error)
        }
    }

    private func decodeResponse<T: Decodable>(_ type: T.Type, from data: Data) throws -> T {
        do {
            return try KeelJSON.decoder.decode(type, from: data)
        } catch {
            // A control plane speaking a different version of the payloads: not retryable.
            throw RPCError(
                code: .internalError, message: "the control plane sent a payload that is not valid KeelJSON for \(T.self)",
                cause: error)
        }
    }

    func mapError(_ error: any Error) -> any Error {
        switch error {
        case let error as RPCError:
            switch error.code {
            case .unavailable, .deadlineExceeded:
                return StepChannelError.unavailable("the control plane at \(endpoint) is unavailable: \(error.message)")
            case .unauthenticated:
                return StepChannelError.unauthenticated
            case .failedPrecondition, .permissionDenied:
                return StepChannelError.leaseLost
            case .notFound:
                var kinds = error.metadata[stringValues: WireFormat.notFoundKindKey].makeIterator()
                var ids = error.metadata[stringValues: WireFormat.notFoundIDKey].makeIterator()
                return StoreError.notFound(kind: kinds.next() ?? "record", id: ids.next() ?? error.message)
            case .aborted:
                return StoreError.conflict(error.message)
            case .cancelled:
                if Task.isCancelled { return CancellationError() }
                return StepChannelError.unavailable("the control plane at \(endpoint) cancelled the call: \(error.message)")
            default:
                return error
            }
        case let error as RuntimeError:
            // The client is stopped or its transport failed.
            return StepChannelError.unavailable("the connection to the control plane at \(endpoint) failed: \(error.message)")
        default:
            return error
        }
    }

    /// Ends every notification stream and refuses new subscriptions.
    private func close() {
        subscriptionRequests.finish()
        closed.signal()
    }

    /// Runs each subscription as a child task until the channel closes.
    private func serveSubscriptions(_ requests: AsyncStream<Subscription>) async {
        await withDiscardingTaskGroup { group in
            for await subscription in requests {
                group.addTask { await self.run(subscription) }
            }
        }
    }

    private func run(_ subscription: Subscription) async {
        let continuation = subscription.continuation
        let request = Keel_Worker_V1_SubscribeNotificationsRequest.with { $0.workerID = subscription.workerID }
        let options = Self.streamOptions
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                do {
                    try await self.client.subscribeNotifications(request, metadata: self.metadata, options: options) {
                        response in
                        for try await message in response.messages {
                            if let notification = WireFormat.notification(message) {
                                continuation.yield(notification)
                            }
                        }
                    }
                    continuation.finish()
                } catch {
                    continuation.finish(throwing: self.mapError(error))
                }
            }
            group.addTask { await subscription.stop.wait() }
            group.addTask { await self.closed.wait() }
            _ = await group.next()
            // Whatever ended first, the consumer sees the end before the RPC is cancelled.
            continuation.finish()
            group.cancelAll()
        }
    }

    private static func target(host: String, port: Int) -> any ResolvableTarget {
        if host.contains(":") {
            let address = host.hasPrefix("[") && host.hasSuffix("]") ? String(host.dropFirst().dropLast()) : host
            return .ipv6(address: address, port: port)
        }
        let octets = host.split(separator: ".", omittingEmptySubsequences: false)
        if octets.count == 4, octets.allSatisfy({ UInt8($0) != nil }) {
            return .ipv4(address: host, port: port)
        }
        return .dns(host: host, port: port)
    }

    private static func format(_ duration: Duration) -> String {
        let seconds = duration.inSeconds
        return seconds.rounded() == seconds ? "\(Int(seconds)) s" : String(format: "%.1f s", seconds)
    }
}
