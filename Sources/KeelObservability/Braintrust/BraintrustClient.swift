import AsyncHTTPClient
import Foundation
import KeelCore
import Logging
import NIOCore
import NIOHTTP1

/// The Braintrust project that receives the rows.
struct BraintrustProject: Sendable, Hashable {
    var id: String
    /// The name Braintrust returned; nil when `BRAINTRUST_PROJECT_ID` was used as-is (not looked up).
    var name: String?

    init(id: String, name: String?) {
        self.id = id
        self.name = name
    }
}

/// A failed Braintrust call. Descriptions never contain the API key.
enum BraintrustError: Error, Sendable, Hashable, CustomStringConvertible {
    /// Braintrust answered with a non-2xx status. `detail` is the start of the body.
    case http(status: Int, detail: String, retryAfter: Double?)
    /// No answer within the request timeout.
    case timeout
    /// The connection failed (refused, reset, DNS, TLS…).
    case transport(String)
    /// A 2xx answer that is not what the API documents.
    case invalidResponse(String)

    /// 429, 5xx, timeouts and connection failures are worth another attempt; other 4xx are not.
    var isRetryable: Bool {
        switch self {
        case .http(let status, _, _): status == 408 || status == 429 || (500...599).contains(status)
        case .timeout, .transport: true
        case .invalidResponse: false
        }
    }

    /// The same failure as the exporter protocol's error.
    var exportError: ExportError {
        switch self {
        case .http(let status, _, let retryAfter):
            isRetryable
                ? .retryable(status: status, retryAfter: retryAfter) : .permanent(status: status, detail: description)
        case .timeout, .transport: .retryable(status: nil, retryAfter: nil)
        case .invalidResponse: .permanent(status: nil, detail: description)
        }
    }

    var description: String {
        switch self {
        case .http(let status, let detail, _):
            let hint =
                switch status {
                case 401, 403: " (check BRAINTRUST_API_KEY)"
                case 404: " (unknown project or wrong BRAINTRUST_API_URL)"
                default: ""
                }
            return "HTTP \(status)\(hint)" + (detail.isEmpty ? "" : ": \(detail)")
        case .timeout: return "request timed out"
        case .transport(let detail): return "connection failed: \(detail)"
        case .invalidResponse(let detail): return "unexpected response: \(detail)"
        }
    }
}

/// Braintrust's REST API: project create-or-get and project log inserts.
struct BraintrustClient: Sendable {
    let configuration: BraintrustSettings
    let httpClient: HTTPClient
    let logger: Logger

    init(configuration: BraintrustSettings, httpClient: HTTPClient = .shared, logger: Logger) {
        self.configuration = configuration
        self.httpClient = httpClient
        self.logger = logger
    }

    /// The project to log into.
    ///
    /// With `BRAINTRUST_PROJECT_ID` set, that id is used without any request. Otherwise
    /// `POST /v1/project {"name": …}`, which creates the project or returns the existing one with
    /// that name — so a project that does not exist yet no longer means silently dropped logs.
    /// Throws ``BraintrustError`` (or `CancellationError`).
    func resolveProject(timeout: Duration? = nil) async throws -> BraintrustProject {
        if let id = configuration.projectID {
            logger.info(
                "Braintrust project id set by BRAINTRUST_PROJECT_ID; skipping project lookup",
                metadata: ["project_id": "\(id)"])
            return BraintrustProject(id: id, name: nil)
        }
        let name = configuration.projectName
        let answer = try await send(path: "/v1/project", body: ["name": .string(name)], timeout: timeout)
        guard let id = answer["id"]?.stringValue, !id.isEmpty else {
            throw BraintrustError.invalidResponse("POST /v1/project returned no project id")
        }
        return BraintrustProject(id: id, name: answer["name"]?.stringValue ?? name)
    }

    /// `POST /v1/project_logs/{project_id}/insert {"events": rows}`; returns the row ids.
    /// Throws ``BraintrustError`` (or `CancellationError`).
    @discardableResult
    func insert(_ rows: [JSONValue], projectID: String) async throws -> [String] {
        var allowed = CharacterSet.urlPathAllowed
        allowed.remove(charactersIn: "/")
        let segment = projectID.addingPercentEncoding(withAllowedCharacters: allowed) ?? projectID
        let answer = try await send(path: "/v1/project_logs/\(segment)/insert", body: ["events": .array(rows)], timeout: nil)
        return answer["row_ids"]?.arrayValue?.compactMap(\.stringValue) ?? []
    }

    /// One JSON POST, bounded as a whole (head and body) by the request timeout.
    private func send(path: String, body: JSONValue, timeout: Duration?) async throws -> JSONValue {
        let limit = timeout ?? configuration.requestTimeout
        var request = HTTPClientRequest(url: configuration.apiURL + path)
        request.method = .POST
        request.headers.add(name: "Authorization", value: "Bearer \(configuration.apiKey)")
        request.headers.add(name: "Content-Type", value: "application/json")
        request.headers.add(name: "Accept", value: "application/json")
        request.headers.add(name: "User-Agent", value: "keel")
        request.body = .bytes(ByteBuffer(string: body.jsonString))

        let (status, headers, text): (Int, HTTPHeaders, String)
        do {
            (status, headers, text) = try await withTimeout(limit, throwing: { BraintrustError.timeout }) { [httpClient, request] in
                let response = try await httpClient.execute(request, deadline: .now() + TimeAmount(limit))
                let buffer = try await response.body.collect(upTo: 4 << 20)
                return (Int(response.status.code), response.headers, String(buffer: buffer))
            }
        } catch {
            throw classify(error)
        }
        guard (200...299).contains(status) else {
            throw BraintrustError.http(
                status: status, detail: scrub(String(text.prefix(300))),
                retryAfter: Self.retryAfterSeconds(headers))
        }
        guard let json = JSONValue.parse(text), json.objectValue != nil else {
            throw BraintrustError.invalidResponse("POST \(path) answered \(status) without a JSON object")
        }
        return json
    }

    private func classify(_ error: any Error) -> any Error {
        if error is BraintrustError { return error }
        if error is CancellationError || Task.isCancelled { return CancellationError() }
        if let error = error as? HTTPClientError {
            switch error {
            case .deadlineExceeded, .connectTimeout, .readTimeout, .writeTimeout, .tlsHandshakeTimeout,
                .getConnectionFromPoolTimeout:
                return BraintrustError.timeout
            default: break
            }
        }
        return BraintrustError.transport(scrub(String(describing: error)))
    }

    /// Removes the API key from text that may be logged (an echoing proxy, a verbose error…).
    func scrub(_ text: String) -> String {
        let key = configuration.apiKey
        guard !key.isEmpty else { return text }
        return text.replacingOccurrences(of: key, with: "<redacted>")
    }

    static func retryAfterSeconds(_ headers: HTTPHeaders) -> Double? {
        if let millis = headers.first(name: "retry-after-ms").flatMap({ Double($0.trimmingCharacters(in: .whitespaces)) }),
            millis >= 0
        {
            return millis / 1000
        }
        guard let value = headers.first(name: "retry-after").flatMap({ Double($0.trimmingCharacters(in: .whitespaces)) }),
            value >= 0
        else { return nil }
        return value
    }
}
