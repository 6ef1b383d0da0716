import Foundation
import HTTPTypes
import Hummingbird
import KeelAuth
import KeelCore
import KeelEngine

/// `/v1/durable`: the operations API of the durable engine (see docs/operations.md). Organization
/// admins see and repair their organization's turns, steps and dead letters; platform
/// administrators (owners of the default organization) also see every organization's and the
/// workers. Members get 403; another organization's records are 404.
struct DurableController: Sendable {
    let engine: TurnControl
    let settings: SSESettings
    let streams: SSEConnectionLimiter
    let gauge: StreamGauge
    let monitorSnapshotInterval: Duration

    static let maxListLimit = 500

    func addRoutes(to v1: RouterGroup<KeelRequestContext>) {
        let durable = v1.group("durable")
        durable.get("workers") { request, context in
            try Self.requirePlatform(context)
            let status = try Self.choice(request, "status", in: Set(WorkerRecord.Status.allCases.map(\.rawValue) + ["all"]))
            let workers = try await operations().workers(
                includeGone: status != nil, staleAfter: engine.policy.staleThreshold)
            return try OperationsJSON.response(
                ListBody(data: workers.filter { status == nil || status == "all" || $0.status.rawValue == status }))
        }
        durable.get("workers/{worker_id}") { _, context in
            try Self.requirePlatform(context)
            let id = try Self.workerID(context)
            guard let worker = try await operations().worker(id: id, staleAfter: engine.policy.staleThreshold)
            else { throw APIError.notFound("worker", id) }
            return try OperationsJSON.response(worker)
        }
        for (action, draining) in [("drain", true), ("undrain", false)] {
            durable.post("workers/{worker_id}/\(action)") { _, context in
                let principal = try Self.requirePlatform(context)
                let worker = try await engine.setDraining(
                    workerID: try Self.workerID(context), draining, by: principal.userID)
                return try OperationsJSON.response(worker)
            }
        }
        durable.get("queue") { _, context in
            let scope = try Self.scope(context)
            return try OperationsJSON.response(
                try await operations().queueSummary(scope, staleAfter: engine.policy.staleThreshold))
        }
        durable.get("turns") { request, context in
            let scope = try Self.scope(context)
            let status = try Self.choice(request, "status", in: Set(TurnStatus.allCases.map(\.rawValue)))
            let limit = try RequestDecoding.integer(request, "limit", default: 50, range: 1...Self.maxListLimit)
            return try OperationsJSON.response(ListBody(data: try await operations().turns(scope, status: status, limit: limit)))
        }
        durable.get("turns/{turn_id}") { _, context in
            let scope = try Self.scope(context)
            let id = try RequestDecoding.requireID(context, "turn_id", prefix: .turn)
            guard let turn = try await operations().turn(id: id, scope) else { throw APIError.notFound("turn", id) }
            return try OperationsJSON.response(turn)
        }
        durable.post("turns/{turn_id}/cancel") { _, context in
            let scope = try Self.scope(context)
            let id = try RequestDecoding.requireID(context, "turn_id", prefix: .turn)
            let turn = try await engine.cancelTurn(turnID: id, scope, by: try RequestScope.principal(context).userID)
            return try OperationsJSON.response(turn)
        }
        durable.get("tasks") { request, context in
            let scope = try Self.scope(context)
            let status = try Self.choice(request, "status", in: DurableTaskRecord.statuses)
            let limit = try RequestDecoding.integer(request, "limit", default: 50, range: 1...Self.maxListLimit)
            return try OperationsJSON.response(ListBody(data: try await operations().tasks(scope, status: status, limit: limit)))
        }
        durable.get("dead-letters") { request, context in
            let scope = try Self.scope(context)
            let includeRequeued = try RequestDecoding.boolean(request, "include_requeued")
            let limit = try RequestDecoding.integer(request, "limit", default: 50, range: 1...Self.maxListLimit)
            return try OperationsJSON.response(
                ListBody(data: try await operations().deadLetters(scope, includeRequeued: includeRequeued, limit: limit)))
        }
        durable.get("dead-letters/{task_id}") { _, context in
            let scope = try Self.scope(context)
            let id = try RequestDecoding.requireID(context, "task_id", prefix: .task)
            guard let letter = try await operations().deadLetter(taskID: id, scope) else {
                throw APIError.notFound("dead_letter", id)
            }
            return try OperationsJSON.response(letter)
        }
        durable.post("dead-letters/{task_id}/requeue") { _, context in
            let scope = try Self.scope(context)
            let id = try RequestDecoding.requireID(context, "task_id", prefix: .task)
            let letter = try await engine.requeueDeadLetter(
                taskID: id, scope, by: try RequestScope.principal(context).userID)
            return try OperationsJSON.response(letter)
        }
        durable.get("circuit-breakers") { _, context in
            let scope = try Self.scope(context)
            guard let breakers = engine.breakers else { return try OperationsJSON.response(ListBody<CircuitBreakerBody>(data: [])) }
            return try OperationsJSON.response(
                ListBody(data: try await breakers.breakers(visibleTo: scope.organizationID).map {
                    CircuitBreakerBody($0, policy: breakers.policy)
                }))
        }
        durable.post("circuit-breakers/{key}/reset") { _, context in
            let scope = try Self.scope(context)
            let state = try await engine.resetBreaker(
                key: context.parameters.get("key") ?? "", scope, by: try RequestScope.principal(context).userID)
            return try OperationsJSON.response(CircuitBreakerBody(state, policy: engine.breakers?.policy ?? CircuitBreakerPolicy()))
        }
        durable.get("monitor/sse") { request, context in
            let scope = try Self.scope(context)
            let operations = try operations()
            let cursor = try Self.resumeCursor(request)
            let organizationID = try RequestScope.organizationID(context)
            let permit = try streams.admit(sessionID: "durable-monitor:\(organizationID)", organizationID: organizationID)
            let stream = DurableMonitorStream(
                operations: operations, engine: engine, scope: scope, after: cursor, settings: settings,
                snapshotInterval: monitorSnapshotInterval, permit: permit)
            return Response(
                status: .ok,
                headers: [.contentType: "text/event-stream", .cacheControl: "no-cache", .connection: "close"],
                body: ResponseBody { writer in
                    gauge.opened()
                    defer { gauge.closed() }
                    // As session streams do: the client's close cancels the stream at once.
                    try await request.body.consumeWithCancellationOnInboundClose { _ in
                        try await stream.write(to: &writer)
                    }
                })
        }
    }

    private func operations() throws -> any OperationsStore {
        try engine.requireOperations()
    }

    /// Organization admins (and owners) act in their organization; owners of the default
    /// organization act for the platform.
    static func scope(_ context: KeelRequestContext) throws -> OperationsScope {
        let principal = try RequestScope.principal(context)
        try principal.require(.admin)
        return isPlatformAdmin(principal) ? .platform : .organization(principal.organizationID)
    }

    @discardableResult
    static func requirePlatform(_ context: KeelRequestContext) throws -> AuthPrincipal {
        let principal = try RequestScope.principal(context)
        try principal.require(.admin)
        guard isPlatformAdmin(principal) else {
            throw APIError(
                .forbidden, code: "forbidden",
                "This needs a platform administrator (an owner of the default organization)")
        }
        return principal
    }

    static func isPlatformAdmin(_ principal: AuthPrincipal) -> Bool {
        principal.organizationID == BuiltIn.organizationID && principal.role == .owner
    }

    static func workerID(_ context: KeelRequestContext) throws -> String {
        let id = context.parameters.get("worker_id") ?? ""
        guard !id.isEmpty, id.utf8.count <= 256 else { throw APIError.badRequest("Invalid worker id", code: "invalid_id") }
        return id
    }

    static func choice(_ request: Request, _ name: String, in allowed: Set<String>) throws -> String? {
        guard let value = RequestDecoding.string(request, name) else { return nil }
        guard allowed.contains(value) else {
            throw APIError.badRequest(
                "Query parameter '\(name)' must be one of: \(allowed.sorted().joined(separator: ", "))", code: "invalid_filter")
        }
        return value
    }

    /// `since_id` or `Last-Event-ID`: the id of the last operations event the client saw.
    static func resumeCursor(_ request: Request) throws -> Int64? {
        let raw = RequestDecoding.string(request, "since_id") ?? request.headers[lastEventID]
        guard let raw, !raw.isEmpty else { return nil }
        guard let id = Int64(raw), id >= 0 else {
            throw APIError.badRequest("since_id must be the id of an operations event (a non-negative integer)", code: "invalid_cursor")
        }
        return id
    }
}

private let lastEventID = HTTPField.Name("Last-Event-ID")!

/// A breaker as the API shows it.
struct CircuitBreakerBody: Encodable {
    var key: String
    var organizationID: String?
    var state: String
    var consecutiveFailures: Int
    var windowRequests: Int
    var windowFailures: Int
    var openedAt: Date?
    var retryAt: Date?
    var updatedAt: Date
    var failureThreshold: Int
    var openSeconds: Double

    init(_ state: CircuitBreakerState, policy: CircuitBreakerPolicy) {
        key = state.key
        organizationID = state.organizationID
        self.state = state.state.rawValue
        consecutiveFailures = state.consecutiveFailures
        windowRequests = state.windowRequests
        windowFailures = state.windowFailures
        openedAt = state.openedAt
        retryAt = state.retryAt
        updatedAt = state.updatedAt
        failureThreshold = policy.failureThreshold
        openSeconds = policy.openDuration.inSeconds
    }
}

/// The operations API's JSON: snake_case keys, the wire format's timestamps.
enum OperationsJSON {
    static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.withoutEscapingSlashes, .sortedKeys]
        encoder.keyEncodingStrategy = .convertToSnakeCase
        encoder.dateEncodingStrategy = .custom { date, encoder in
            var container = encoder.singleValueContainer()
            try container.encode(KeelJSON.timestamp(date))
        }
        return encoder
    }()

    static func response(_ value: some Encodable, status: HTTPResponse.Status = .ok) throws -> Response {
        Response(
            status: status, headers: [.contentType: "application/json"],
            body: ResponseBody(byteBuffer: ByteBuffer(bytes: try encoder.encode(value))))
    }
}
