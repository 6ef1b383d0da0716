import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2
import KeelCore
import Logging
import ServiceLifecycle

/// Serves the worker protocol (`keel.worker.v1.WorkerService`) on top of the control plane's
/// in-process `StepChannel`, so `keel worker` processes can claim and run steps remotely.
///
/// Plaintext HTTP/2 unless `tls` is given (then TLS only: a plaintext client cannot connect). With
/// an auth token, every RPC must carry `authorization: Bearer <token>`. `run()` serves until graceful shutdown
/// (which also ends open notification streams so the server can stop) or cancellation. Run it at
/// most once.
public final class WorkerRPCServer: Service, Sendable {
    private let channel: any StepChannel
    private let host: String
    private let port: Int
    private let authToken: String?
    private let tls: WorkerRPCTLS.Server?
    private let logger: Logger
    private let transport: HTTP2ServerTransport.Posix
    /// Signalled on graceful shutdown: ends the notification streams.
    private let stopping = Latch()

    public init(
        channel: any StepChannel, host: String, port: Int, authToken: String?, tls: WorkerRPCTLS.Server? = nil, logger: Logger
    ) {
        self.channel = channel
        self.host = host
        self.port = port
        self.authToken = authToken.flatMap { $0.isEmpty ? nil : $0 }
        self.tls = tls
        self.logger = logger
        let address: GRPCNIOTransportCore.SocketAddress =
            host.contains(":") ? .ipv6(host: host, port: port) : .ipv4(host: host, port: port)
        transport = HTTP2ServerTransport.Posix(
            address: address, transportSecurity: tls?.transportSecurity ?? .plaintext,
            config: .defaults { config in
                config.rpc.maxRequestPayloadSize = WireFormat.maxMessageBytes
                // Workers hold a notification stream open for hours: find dead peers, and let
                // workers probe the connection too.
                config.connection.keepalive = .init(
                    time: .seconds(60), timeout: .seconds(20),
                    clientBehavior: .init(minPingIntervalWithoutCalls: .seconds(10), allowWithoutCalls: true))
            })
    }

    /// The port the server listens on, once it does (useful with port 0).
    public func listeningPort() async throws -> Int {
        let address = try await transport.listeningAddress
        if let ipv4 = address.ipv4 { return ipv4.port }
        if let ipv6 = address.ipv6 { return ipv6.port }
        throw RuntimeError(code: .serverIsStopped, message: "the worker RPC server is not listening on an IP address")
    }

    public func run() async throws {
        let handler = WorkerServiceHandler(channel: channel, stopping: stopping, logger: logger)
        let interceptors: [any ServerInterceptor] = authToken.map { [WorkerAuthInterceptor(token: $0, logger: logger)] } ?? []
        let server = GRPCServer(transport: transport, services: [handler], interceptors: interceptors)
        try await withGracefulShutdownHandler {
            try await withThrowingDiscardingTaskGroup { group in
                group.addTask { try await server.serve() }
                if let port = try? await self.listeningPort() {
                    self.logger.info(
                        "worker RPC server listening",
                        metadata: [
                            "host": "\(self.host)", "port": "\(port)", "auth": "\(self.authToken != nil)",
                            "tls": "\(self.tls != nil)",
                        ])
                }
            }
        } onGracefulShutdown: {
            self.stopping.signal()
            server.beginGracefulShutdown()
        }
        logger.info("worker RPC server stopped")
    }
}

/// The RPC handlers: decode, call the in-process channel, encode, and map errors to statuses.
struct WorkerServiceHandler: Keel_Worker_V1_WorkerService.SimpleServiceProtocol {
    let channel: any StepChannel
    let stopping: Latch
    let logger: Logger

    func ping(request: Keel_Worker_V1_PingRequest, context: ServerContext) async throws -> Keel_Worker_V1_PingResponse {
        Keel_Worker_V1_PingResponse()
    }

    func claimSteps(
        request: Keel_Worker_V1_ClaimStepsRequest, context: ServerContext
    ) async throws -> Keel_Worker_V1_ClaimStepsResponse {
        try await serve(context) {
            guard request.limit >= 0 else { throw RPCError(code: .invalidArgument, message: "limit must not be negative") }
            var response = Keel_Worker_V1_ClaimStepsResponse()
            guard request.limit > 0 else { return response }
            let steps = try await channel.claim(workerID: request.workerID, limit: Int(request.limit))
            response.stepsJson = try steps.map { try WireFormat.encode($0) }
            return response
        }
    }

    func getStepContext(
        request: Keel_Worker_V1_GetStepContextRequest, context: ServerContext
    ) async throws -> Keel_Worker_V1_GetStepContextResponse {
        try await serve(context, leaseLost: .permissionDenied) {
            let step = try WireFormat.decodeRequest(ClaimedStep.self, from: request.stepJson, field: "step_json")
            var response = Keel_Worker_V1_GetStepContextResponse()
            response.contextJson = try WireFormat.encode(try await channel.context(for: step))
            return response
        }
    }

    func emitEvents(
        request: Keel_Worker_V1_EmitEventsRequest, context: ServerContext
    ) async throws -> Keel_Worker_V1_EmitEventsResponse {
        try await serve(context) {
            let lease = try WireFormat.lease(request.lease, present: request.hasLease)
            let events = try WireFormat.decodeRequest([EventDraft].self, from: request.eventsJson, field: "events_json")
            try await channel.emit(events, sessionID: request.sessionID, lease: lease)
            return Keel_Worker_V1_EmitEventsResponse()
        }
    }

    func recordToolResult(
        request: Keel_Worker_V1_RecordToolResultRequest, context: ServerContext
    ) async throws -> Keel_Worker_V1_RecordToolResultResponse {
        try await serve(context) {
            let lease = try WireFormat.lease(request.lease, present: request.hasLease)
            let event = try WireFormat.decodeRequest(EventDraft.self, from: request.eventJson, field: "event_json")
            try await channel.recordToolResult(
                toolCallID: request.toolCallID, event: event, sessionID: request.sessionID, lease: lease)
            return Keel_Worker_V1_RecordToolResultResponse()
        }
    }

    func heartbeatStep(
        request: Keel_Worker_V1_HeartbeatStepRequest, context: ServerContext
    ) async throws -> Keel_Worker_V1_HeartbeatStepResponse {
        try await serve(context) {
            let lease = try WireFormat.lease(request.lease, present: request.hasLease)
            var response = Keel_Worker_V1_HeartbeatStepResponse()
            response.shouldContinue = try await channel.heartbeat(lease)
            return response
        }
    }

    func completeStep(
        request: Keel_Worker_V1_CompleteStepRequest, context: ServerContext
    ) async throws -> Keel_Worker_V1_CompleteStepResponse {
        try await serve(context) {
            let lease = try WireFormat.lease(request.lease, present: request.hasLease)
            let completion = try WireFormat.decodeRequest(
                StepCompletion.self, from: request.completionJson, field: "completion_json")
            try await channel.complete(lease, completion)
            return Keel_Worker_V1_CompleteStepResponse()
        }
    }

    func failStep(request: Keel_Worker_V1_FailStepRequest, context: ServerContext) async throws -> Keel_Worker_V1_FailStepResponse {
        try await serve(context) {
            let lease = try WireFormat.lease(request.lease, present: request.hasLease)
            try await channel.fail(lease, error: request.error)
            return Keel_Worker_V1_FailStepResponse()
        }
    }

    func reportWorker(
        request: Keel_Worker_V1_ReportWorkerRequest, context: ServerContext
    ) async throws -> Keel_Worker_V1_ReportWorkerResponse {
        try await serve(context) {
            let report = try WireFormat.decodeRequest(WorkerReport.self, from: request.reportJson, field: "report_json")
            var response = Keel_Worker_V1_ReportWorkerResponse()
            response.directiveJson = try WireFormat.encode(try await channel.reportWorker(report))
            return response
        }
    }

    func releaseStep(
        request: Keel_Worker_V1_ReleaseStepRequest, context: ServerContext
    ) async throws -> Keel_Worker_V1_ReleaseStepResponse {
        try await serve(context) {
            let lease = try WireFormat.lease(request.lease, present: request.hasLease)
            try await channel.release(lease)
            return Keel_Worker_V1_ReleaseStepResponse()
        }
    }

    /// Forwards the channel's notifications until the client goes away (gRPC signals that through
    /// the RPC's cancellation handle, not by cancelling this task), the server shuts down, or the
    /// channel's stream ends.
    func subscribeNotifications(
        request: Keel_Worker_V1_SubscribeNotificationsRequest,
        response: RPCWriter<Keel_Worker_V1_Notification>,
        context: ServerContext
    ) async throws {
        guard !stopping.isSignalled else { return }
        try await serve(context) {
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask {
                    for try await notification in channel.notifications(workerID: request.workerID) {
                        try await response.write(WireFormat.notification(notification))
                    }
                }
                group.addTask { try? await context.cancellation.cancelled }
                group.addTask { await stopping.wait() }
                defer { group.cancelAll() }
                try await group.next()
            }
        }
    }

    func sessionFileOperation(
        request: Keel_Worker_V1_SessionFileOperationRequest, context: ServerContext
    ) async throws -> Keel_Worker_V1_SessionFileOperationResponse {
        try await serve(context, leaseLost: .permissionDenied) {
            let lease = try WireFormat.lease(request.lease, present: request.hasLease)
            let operation = try WireFormat.decodeRequest(
                FileOperation.self, from: request.operationJson, field: "operation_json")
            let result = try await channel.fileSystem(sessionID: request.sessionID, lease: lease).perform(operation)
            var response = Keel_Worker_V1_SessionFileOperationResponse()
            response.resultJson = try WireFormat.encode(result)
            return response
        }
    }

    /// Runs one handler, turning the channel's errors into gRPC statuses. Unexpected errors are
    /// logged here and reach the worker as a generic internal error. `leaseLost` is
    /// `permissionDenied` for the calls that hand out data (a step's context, its session's
    /// files): there a lease that does not hold is a caller asking for what is not its own.
    private func serve<T>(
        _ context: ServerContext, leaseLost: RPCError.Code = .failedPrecondition, _ body: () async throws -> T
    ) async throws -> T {
        do {
            return try await body()
        } catch StepChannelError.leaseLost {
            throw RPCError(
                code: leaseLost,
                message: leaseLost == .permissionDenied ? "this worker does not hold the lease of that step" : "lease lost")
        } catch {
            throw Self.status(for: error, method: context.descriptor.method, logger: logger)
        }
    }

    static func status(for error: any Error, method: String, logger: Logger) -> RPCError {
        switch error {
        case let error as RPCError:
            return error
        case let error as StepChannelError:
            switch error {
            case .leaseLost: return RPCError(code: .failedPrecondition, message: "lease lost")
            case .unauthenticated: return RPCError(code: .unauthenticated, message: "missing or invalid worker token")
            case .unavailable(let reason): return RPCError(code: .unavailable, message: reason)
            }
        case let error as StoreError:
            switch error {
            case .notFound(let kind, let id):
                return RPCError(
                    code: .notFound, message: "\(kind) \(id) not found",
                    metadata: [WireFormat.notFoundKindKey: "\(kind)", WireFormat.notFoundIDKey: "\(id)"])
            case .conflict(let reason):
                return RPCError(code: .aborted, message: reason)
            }
        case is CancellationError:
            return RPCError(code: .cancelled, message: "the call was cancelled")
        default:
            logger.warning(
                "worker RPC failed", metadata: ["rpc": "\(method)", "error": "\(String(reflecting: error))"])
            return RPCError(code: .internalError, message: "internal error in the control plane")
        }
    }
}
