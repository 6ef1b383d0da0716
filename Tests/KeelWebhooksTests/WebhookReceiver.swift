import Hummingbird
import Synchronization

/// How the fake receiver answers one request.
struct Reply: Sendable {
    var status: Int
    var headers: [String: String] = [:]
    /// Waited before answering (a slow receiver).
    var delay: Duration = .zero
}

/// What the fake receiver saw of one request.
struct ReceivedRequest: Sendable {
    /// Lowercased header names.
    var headers: [String: String]
    var body: [UInt8]
    var authority: String?
    var arrival: ContinuousClock.Instant
}

/// A webhook receiver for a `LoopbackServer`: records every POST to `/hook` and answers the
/// n-th with `replies[n]` (the last reply repeats; 200 when there are none).
final class WebhookReceiver: Sendable {
    private struct State {
        var requests: [ReceivedRequest] = []
        var inFlight = 0
        var maxInFlight = 0
    }

    private let replies: [Reply]
    private let state = Mutex(State())

    init(_ replies: [Reply]) { self.replies = replies }

    var requests: [ReceivedRequest] { state.withLock { $0.requests } }
    /// Most requests being answered at once.
    var maxInFlight: Int { state.withLock { $0.maxInFlight } }

    func router() -> Router<BasicRequestContext> {
        let router = Router()
        router.post("hook") { request, _ in
            let body = try await request.body.collect(upTo: 1 << 20)
            var headers: [String: String] = [:]
            for field in request.headers { headers[field.name.canonicalName.lowercased()] = field.value }
            let received = ReceivedRequest(
                headers: headers, body: Array(buffer: body), authority: request.head.authority, arrival: .now)
            let index = self.state.withLock { state in
                state.requests.append(received)
                state.inFlight += 1
                state.maxInFlight = max(state.maxInFlight, state.inFlight)
                return state.requests.count - 1
            }
            defer { self.state.withLock { $0.inFlight -= 1 } }
            let reply = self.replies.isEmpty ? Reply(status: 200) : self.replies[min(index, self.replies.count - 1)]
            if reply.delay > .zero { try await Task.sleep(for: reply.delay) }
            var fields = HTTPFields()
            for (name, value) in reply.headers {
                if let name = HTTPFields.Element.Name(name) { fields[name] = value }
            }
            return Response(status: HTTPResponse.Status(code: reply.status), headers: fields)
        }
        return router
    }
}
