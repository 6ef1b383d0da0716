import Foundation
import KeelCore
import NIOCore
import NIOHTTP1

/// A prepared POST to a provider's streaming endpoint.
struct ProviderHTTPRequest: Sendable {
    var url: String
    var headers: HTTPHeaders
    var body: ByteBuffer
    /// The API key in the headers, kept only so every error detail can be scrubbed of it.
    var secret: String

    init(url: String, headers: [(String, String)], body: JSONValue, secret: String) {
        self.url = url
        var httpHeaders = HTTPHeaders(headers)
        httpHeaders.replaceOrAdd(name: "content-type", value: "application/json")
        httpHeaders.replaceOrAdd(name: "accept", value: "text/event-stream")
        self.headers = httpHeaders
        self.body = ByteBuffer(string: body.jsonString)
        self.secret = secret
    }
}

/// Resolving the endpoint's key and base URL, shared by the network drivers.
extension LLMEndpoint {
    /// The key, or `LLMError.missingAPIKey` before any network I/O is attempted.
    func requireAPIKey(for provider: ProviderType) throws -> String {
        guard let key = apiKey?.trimmingCharacters(in: .whitespacesAndNewlines), !key.isEmpty else {
            throw LLMError.missingAPIKey(provider: provider)
        }
        return key
    }

    /// `baseURL` (or the provider default) with `path` appended, tolerating a trailing slash.
    func url(defaultBase: String, path: String) -> String {
        let configured = baseURL?.trimmingCharacters(in: .whitespacesAndNewlines) ?? ""
        var base = configured.isEmpty ? defaultBase : configured
        while base.hasSuffix("/") { base.removeLast() }
        return base + path
    }
}
