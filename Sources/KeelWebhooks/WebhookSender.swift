import AsyncHTTPClient
import Foundation
import KeelCapabilities
import KeelCore
import NIOCore

/// Makes one attempt of a delivery: checks and pins the receiver's address, POSTs the body with
/// the webhook headers, and classifies the answer. Redirects are never followed (a redirect could
/// point anywhere, including at a private address).
struct WebhookSender: Sendable {
    static let userAgent = "keel-webhooks"

    let settings: WebhookSettings
    let addressCheck: WebhookAddressCheck
    let eventLoopGroup: any EventLoopGroup
    private let clientConfiguration: HTTPClient.Configuration

    init(settings: WebhookSettings, policy: FetchTargetPolicy, eventLoopGroup: any EventLoopGroup) {
        self.settings = settings
        self.addressCheck = WebhookAddressCheck(policy: policy)
        self.eventLoopGroup = eventLoopGroup
        var configuration = WebFetchHTTPClient.configuration
        configuration.redirectConfiguration = .disallow
        // One connection try per attempt: a refused connection fails the attempt at once (and is
        // retried on the webhook schedule) instead of the pool retrying until the timeout.
        configuration.connectionPool.retryConnectionEstablishment = false
        configuration.timeout = HTTPClient.Configuration.Timeout(
            connect: TimeAmount(min(settings.timeout, .seconds(10))), read: TimeAmount(settings.timeout))
        self.clientConfiguration = configuration
    }

    private struct AttemptTimedOut: Error {}

    /// One attempt, bounded by `settings.timeout` as a whole (a timeout is retryable).
    func attempt(_ target: WebhookTarget, body: [UInt8], id: String) async -> WebhookAttemptOutcome {
        do {
            return try await withTimeout(settings.timeout, throwing: { AttemptTimedOut() }) { [self] in
                try await post(target, body: body, id: id)
            }
        } catch is AttemptTimedOut {
            return .retryable(status: nil, retryAfter: nil, detail: "timed out after \(settings.timeout.shortDescription)")
        } catch {
            if error is CancellationError || Task.isCancelled { return .cancelled }
            return .retryable(status: nil, retryAfter: nil, detail: Self.describe(error))
        }
    }

    private func post(_ target: WebhookTarget, body: [UInt8], id: String) async throws -> WebhookAttemptOutcome {
        let addresses: [IPAddress]
        do {
            addresses = try await addressCheck.addresses(for: target)
        } catch .unresolvable(let detail) {
            return .retryable(status: nil, retryAfter: nil, detail: detail)
        } catch .refused(let refusal) {
            return .rejected(status: nil, detail: refusal.reason)
        }
        guard let address = WebhookAddressCheck.preferred(addresses) else {
            return .retryable(status: nil, retryAfter: nil, detail: "webhook host '\(target.host)' has no IP addresses")
        }
        let request = makeRequest(target, body: body, id: id, timestamp: Int(Date().timeIntervalSince1970))
        return try await PinnedHTTPClient.with(
            host: target.host, address: address, configuration: clientConfiguration, eventLoopGroup: eventLoopGroup
        ) { client in
            // The body is not read: only the status matters, and the client is shut down (and the
            // connection closed) right after.
            let response = try await client.execute(request, timeout: TimeAmount(settings.timeout))
            return .classify(status: Int(response.status.code), retryAfter: response.headers.first(name: "Retry-After"))
        }
    }

    /// The POST with the JSON body and the webhook headers, signed when a secret is set.
    func makeRequest(_ target: WebhookTarget, body: [UInt8], id: String, timestamp: Int) -> HTTPClientRequest {
        var request = HTTPClientRequest(url: target.url.absoluteString)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json")
        request.headers.add(name: "User-Agent", value: Self.userAgent)
        request.headers.add(name: "X-Keel-Webhook-Id", value: id)
        if let secret = settings.effectiveSecret {
            request.headers.add(name: "X-Keel-Webhook-Timestamp", value: String(timestamp))
            request.headers.add(
                name: "X-Keel-Webhook-Signature", value: WebhookSignature.sign(secret: secret, timestamp: timestamp, body: body))
        }
        request.body = .bytes(ByteBuffer(bytes: body))
        return request
    }

    /// A short, URL-free description of a transport error.
    static func describe(_ error: any Error) -> String {
        if let error = error as? HTTPClientError, [.connectTimeout, .readTimeout, .deadlineExceeded].contains(error) {
            return "timed out (\(error))"
        }
        return "request failed: " + String(String(describing: error).prefix(200))
    }
}
