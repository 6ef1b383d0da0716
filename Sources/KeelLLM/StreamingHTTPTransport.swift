import AsyncHTTPClient
import KeelCore
import NIOCore
import NIOHTTP1

/// The HTTP behaviour every network driver shares — timeouts, status mapping, retries, key
/// redaction, TTFT — kept in one place so the providers cannot drift apart on any of it.
///
/// Retries happen only for retryable errors (`LLMError.isRetryable`) and only while no delta
/// has been delivered: once the caller has seen output, replaying the call would duplicate it.
public struct StreamingHTTPTransport: Sendable {
    public struct Configuration: Sendable, Hashable {
        /// Limit for connecting, sending the request and receiving the response head.
        public var headTimeout: Duration
        /// Longest silence tolerated between two body chunks once streaming. The client's own
        /// read timeout applies as well (90 s for `HTTPClient.shared`): inject a client without
        /// one to let a longer `idleTimeout` govern alone.
        public var idleTimeout: Duration
        public var retry: RetryPolicy

        public init(headTimeout: Duration = .seconds(60), idleTimeout: Duration = .seconds(120), retry: RetryPolicy = RetryPolicy()) {
            self.headTimeout = headTimeout
            self.idleTimeout = idleTimeout
            self.retry = retry
        }
    }

    public let httpClient: HTTPClient
    public let configuration: Configuration

    /// - Parameter httpClient: injected so the server can share one connection pool (and tests
    ///   can use their own); defaults to the process-wide singleton, which needs no shutdown.
    public init(httpClient: HTTPClient = .shared, configuration: Configuration = Configuration()) {
        self.httpClient = httpClient
        self.configuration = configuration
    }

    /// Posts `request` and streams the SSE body through a fresh decoder per attempt.
    func stream<Decoder: ProviderStreamDecoder>(
        _ request: ProviderHTTPRequest, makeDecoder: () -> Decoder,
        onDelta: @Sendable (LLMDelta) async throws -> Void
    ) async throws -> LLMResponse {
        var retries = 0
        while true {
            var attempt = StreamAttempt(decoder: makeDecoder())
            do {
                return try await run(request, attempt: &attempt, onDelta: onDelta)
            } catch let failure as DeltaConsumerFailure {
                throw failure.underlying  // the caller's own error: not ours to classify or retry
            } catch {
                let failure = Self.classify(error, secret: request.secret)
                guard let llmError = failure as? LLMError, llmError.isRetryable, !attempt.delivered,
                    retries < configuration.retry.maxRetries
                else { throw failure }
                try await Task.sleep(for: configuration.retry.delay(forRetry: retries, retryAfter: llmError.retryAfter))
                retries += 1
            }
        }
    }

    private func run<Decoder: ProviderStreamDecoder>(
        _ request: ProviderHTTPRequest, attempt: inout StreamAttempt<Decoder>,
        onDelta: @Sendable (LLMDelta) async throws -> Void
    ) async throws -> LLMResponse {
        var httpRequest = HTTPClientRequest(url: request.url)
        httpRequest.method = .POST
        httpRequest.headers = request.headers
        httpRequest.body = .bytes(request.body)
        let response = try await httpClient.execute(httpRequest, deadline: .now() + TimeAmount(configuration.headTimeout))
        guard (200..<300).contains(response.status.code) else {
            let body = try await IdleTimeoutBodyReader.collect(
                response.body, limit: 64 * 1024, idleTimeout: configuration.idleTimeout)
            throw ProviderErrorMapping.error(
                status: Int(response.status.code), body: body,
                retryAfter: RetryAfter.seconds(from: response.headers), secret: request.secret)
        }
        try await IdleTimeoutBodyReader.read(response.body, idleTimeout: configuration.idleTimeout) { chunk in
            let events = attempt.parser.feed(chunk)
            return try await attempt.consume(events, onDelta: onDelta) ? .stop : .more
        }
        if !attempt.decoder.isFinished {
            _ = try await attempt.consume(attempt.parser.finish(), onDelta: onDelta)
        }
        var result = try attempt.decoder.response()
        result.timeToFirstToken = attempt.timeToFirstToken
        return result
    }

    /// Normalises any failure to `LLMError`, except cancellation, which must stay a
    /// `CancellationError` so the caller's cancellation semantics are untouched.
    static func classify(_ error: any Error, secret: String) -> any Error {
        if error is CancellationError || Task.isCancelled { return CancellationError() }
        if let error = error as? LLMError { return ProviderErrorMapping.sanitize(error, secret: secret) }
        if let error = error as? HTTPClientError {
            switch error {
            case .deadlineExceeded, .connectTimeout, .readTimeout, .writeTimeout, .tlsHandshakeTimeout,
                .getConnectionFromPoolTimeout:
                return LLMError.timeout
            default:
                break
            }
        }
        return LLMError.network(ProviderErrorMapping.sanitize(String(describing: error), secret: secret))
    }
}

extension LLMError {
    /// The provider's requested wait, for rate limits.
    var retryAfter: Double? {
        if case .rateLimited(let seconds) = self { return seconds }
        return nil
    }
}
