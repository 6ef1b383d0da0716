import AsyncHTTPClient
import Foundation
import Logging
import NIOCore

/// Sends spans to an OTLP/HTTP endpoint as binary protobuf
/// (`POST {endpoint}` with `Content-Type: application/x-protobuf`), the one encoding every
/// backend we target accepts (generic collectors, Phoenix, Langfuse, Braintrust).
///
/// Outcome mapping, per the OTLP/HTTP spec: any 2xx succeeds; 429, 502, 503 and 504 are
/// `ExportError.retryable` with the `Retry-After` delay when the server gave one; timeouts and
/// connection failures are retryable; every other status is `ExportError.permanent`.
///
/// Header values usually hold credentials (Basic or Bearer auth), so they are never logged and
/// never appear in errors; `description` lists header names only.
struct OTLPHTTPExporter: SpanExporter, CustomStringConvertible {
    /// The full traces URL, e.g. `http://127.0.0.1:4318/v1/traces`.
    let endpoint: String
    /// Per-request timeout (the whole request, connect included).
    let timeout: Duration
    private let headers: [(name: String, value: String)]
    private let encoder: OTLPTraceEncoder
    private let httpClient: HTTPClient
    private let logger: Logger

    /// - Parameters:
    ///   - headers: extra request headers (auth, `x-langfuse-ingestion-version`, …); they replace
    ///     any default header of the same name.
    ///   - logger: used for partial-success warnings and debug details; never given header values.
    init(
        endpoint: String, headers: [(name: String, value: String)] = [], encoder: OTLPTraceEncoder,
        httpClient: HTTPClient, timeout: Duration = .seconds(10), logger: Logger = Logger(label: "keel.otlp.http")
    ) {
        self.endpoint = endpoint
        self.headers = headers
        self.encoder = encoder
        self.httpClient = httpClient
        self.timeout = timeout
        self.logger = logger
    }

    var description: String {
        "OTLPHTTPExporter(endpoint: \(otlpRedactedURL(endpoint)), headers: \(headers.map(\.name)))"
    }

    func export(_ spans: [SpanRecord]) async throws {
        guard !spans.isEmpty else { return }
        var request = HTTPClientRequest(url: endpoint)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/x-protobuf")
        request.headers.add(name: "User-Agent", value: "keel-otlp-exporter")
        for header in headers {
            request.headers.replaceOrAdd(name: header.name, value: header.value)
        }
        do {
            request.body = .bytes(ByteBuffer(bytes: try encoder.encode(spans)))
        } catch {
            throw ExportError.permanent(status: nil, detail: "could not encode the OTLP request: \(error)")
        }

        let response: HTTPClientResponse
        do {
            response = try await httpClient.execute(request, timeout: TimeAmount(timeout))
        } catch {
            throw classify(error)
        }
        let status = Int(response.status.code)
        // Read (and bound) the body so the connection can be reused; its content matters only
        // for partial-success reports and error details.
        let body = try? await response.body.collect(upTo: 64 * 1024)

        switch status {
        case 200..<300:
            if let body, let partial = OTLPPartialSuccess(responseBody: Array(buffer: body),
                contentType: response.headers.first(name: "Content-Type"))
            {
                logger.warning(
                    "OTLP endpoint rejected part of a batch",
                    metadata: [
                        "otlp.endpoint": "\(otlpRedactedURL(endpoint))", "otlp.rejected_spans": "\(partial.rejectedSpans)",
                        "otlp.error_message": "\(redact(partial.errorMessage))",
                    ])
            }
        case 429, 502, 503, 504:
            let retryAfter = Self.parseRetryAfter(response.headers.first(name: "Retry-After"))
            throw ExportError.retryable(status: status, retryAfter: retryAfter)
        default:
            var detail = "HTTP \(status)"
            if let body, body.readableBytes > 0 {
                let text = String(decoding: body.readableBytesView.prefix(300), as: UTF8.self)
                detail += ": " + redact(text)
            }
            throw ExportError.permanent(status: status, detail: detail)
        }
    }

    /// Seconds to wait from a `Retry-After` value: delay-seconds or an HTTP-date (RFC 9110 §10.2.3).
    static func parseRetryAfter(_ value: String?, now: Date = Date()) -> Double? {
        guard let value = value?.trimmingCharacters(in: .whitespaces), !value.isEmpty else { return nil }
        if let seconds = Double(value), seconds.isFinite {
            return max(0, seconds)
        }
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "GMT")
        for format in ["EEE, dd MMM yyyy HH:mm:ss zzz", "EEEE, dd-MMM-yy HH:mm:ss zzz", "EEE MMM d HH:mm:ss yyyy"] {
            formatter.dateFormat = format
            if let date = formatter.date(from: value) {
                return max(0, date.timeIntervalSince(now))
            }
        }
        return nil
    }

    private func classify(_ error: any Error) -> any Error {
        if error is CancellationError || Task.isCancelled { return CancellationError() }
        if let error = error as? HTTPClientError {
            // Request-construction problems never get better by retrying. Their descriptions may
            // quote header values, so the detail is generic.
            let permanent: [HTTPClientError] = [
                .invalidURL, .emptyHost, .emptyScheme, .missingSocketPath, .alreadyShutdown, .traceRequestWithBody,
                .incompatibleHeaders, .redirectLimitReached, .redirectCycleDetected,
            ]
            if permanent.contains(error) || String(describing: error).contains("unsupportedScheme") {
                return ExportError.permanent(status: nil, detail: "invalid OTLP request for \(otlpRedactedURL(endpoint))")
            }
            if String(describing: error).contains("invalidHeaderField") {
                return ExportError.permanent(status: nil, detail: "invalid OTLP header name or value (not shown)")
            }
            logger.debug("OTLP export attempt failed", metadata: ["otlp.endpoint": "\(otlpRedactedURL(endpoint))", "error": "\(error)"])
            return ExportError.retryable(status: nil, retryAfter: nil)
        }
        logger.debug(
            "OTLP export attempt failed",
            metadata: ["otlp.endpoint": "\(otlpRedactedURL(endpoint))", "error": "\(String(describing: error).prefix(300))"])
        return ExportError.retryable(status: nil, retryAfter: nil)
    }

    /// Removes any header value (credentials) that a server might echo back in a body.
    private func redact(_ text: String) -> String {
        var text = text
        for header in headers where header.value.count >= 4 {
            text = text.replacingOccurrences(of: header.value, with: "<redacted>")
        }
        return text
    }
}

/// An `ExportTraceServiceResponse.partial_success` with rejected spans, decoded from a protobuf
/// response body with the generated message. JSON bodies (such as Langfuse's `{}`), empty and
/// undecodable responses give nil: the batch was accepted, only the warning is lost.
package struct OTLPPartialSuccess {
    package var rejectedSpans: Int64
    package var errorMessage: String

    package init?(responseBody: [UInt8], contentType: String?) {
        guard let contentType, contentType.lowercased().contains("protobuf"), !responseBody.isEmpty,
            let response = try? OTLPExportTraceServiceResponse(serializedBytes: responseBody), response.hasPartialSuccess
        else { return nil }
        let partial = response.partialSuccess
        guard partial.rejectedSpans > 0 || !partial.errorMessage.isEmpty else { return nil }
        self.rejectedSpans = partial.rejectedSpans
        self.errorMessage = partial.errorMessage
    }
}

/// `scheme://host[:port]/path` without user info, query or fragment: safe to log.
func otlpRedactedURL(_ url: String) -> String {
    guard var components = URLComponents(string: url) else { return "<invalid URL>" }
    components.user = nil
    components.password = nil
    components.query = nil
    components.fragment = nil
    return components.string ?? "<invalid URL>"
}
