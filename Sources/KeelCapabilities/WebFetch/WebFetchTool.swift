import AsyncHTTPClient
import Foundation
import KeelCore
import NIOCore

/// `web_fetch(url, method?)`: fetches a public http(s) URL and returns its text.
///
/// Guarded because the server, not the user, makes the request: only http(s), only GET, every
/// target (including each redirect hop) checked against `FetchTargetPolicy` and then fetched
/// over a connection to exactly the address that was checked (`PinnedHTTPClient`), the body
/// capped at `maxBytes` and the whole call bounded by `timeout`.
public struct WebFetchTool: Tool {
    public let configuration: WebFetchConfiguration
    private let clientConfiguration: HTTPClient.Configuration
    private let eventLoopGroup: any EventLoopGroup
    private let policy: FetchTargetPolicy

    /// - Parameter httpClient: supplies the event loop group the per-hop pinned clients run on;
    ///   the requests themselves use `WebFetchHTTPClient.configuration` (see `PinnedHTTPClient`
    ///   for why each hop needs its own client).
    public init(configuration: WebFetchConfiguration = WebFetchConfiguration(), httpClient: HTTPClient = WebFetchHTTPClient.shared) {
        self.init(configuration: configuration, eventLoopGroup: httpClient.eventLoopGroup)
    }

    /// Lets tests substitute DNS, the host's own addresses and the client settings.
    init(
        configuration: WebFetchConfiguration, clientConfiguration: HTTPClient.Configuration = WebFetchHTTPClient.configuration,
        eventLoopGroup: any EventLoopGroup = HTTPClient.defaultEventLoopGroup,
        resolve: @escaping @Sendable (String) async throws -> [IPAddress] = { try await HostResolver.resolve($0) },
        localAddresses: @escaping @Sendable () -> Set<IPAddress> = { LocalInterfaceAddresses.current() }
    ) {
        self.configuration = configuration
        var clientConfiguration = clientConfiguration
        // Every hop must come back to the tool to be checked before it is requested.
        clientConfiguration.redirectConfiguration = .disallow
        self.clientConfiguration = clientConfiguration
        self.eventLoopGroup = eventLoopGroup
        self.policy = FetchTargetPolicy(
            allowPrivateAddresses: configuration.allowPrivateAddresses, resolve: resolve, localAddresses: localAddresses)
    }

    /// A little above the fetch's own limit, so the tool reports its own clearer timeout.
    public var timeout: Duration? { configuration.timeout + .seconds(5) }

    public var definition: ToolDefinition {
        ToolDefinition(
            name: "web_fetch",
            description: "Fetch a public web page or API endpoint over HTTP(S) with GET and return the status, content type and text body (binary bodies are described, not returned; long bodies are truncated).",
            parameters: JSONSchema.object(
                [
                    "url": JSONSchema.string("Absolute http:// or https:// URL."),
                    "method": JSONSchema.enumeration(["GET"], "HTTP method; only GET is supported."),
                ],
                required: ["url"]
            )
        )
    }

    public func call(_ arguments: JSONValue, context: ToolContext) async throws -> JSONValue {
        let arguments = try ToolArguments(arguments, tool: "web_fetch")
        let text = try arguments.string("url")
        if let method = try arguments.optionalString("method"), method.uppercased() != "GET" {
            throw ToolError("web_fetch: only GET is supported (got '\(method)')")
        }
        let url = try FetchTargetPolicy.parse(text)
        let deadline = NIODeadline.now() + TimeAmount(configuration.timeout)
        return try await withToolTimeout(configuration.timeout) { [self] in
            try await fetch(url, deadline: deadline)
        }
    }

    private enum Hop: Sendable {
        case final(JSONValue)
        case redirect(URL)
    }

    private func fetch(_ url: URL, deadline: NIODeadline) async throws -> JSONValue {
        var current = url
        var redirects = 0
        while true {
            let addresses = try await policy.check(url: current)
            let host = try FetchTargetPolicy.host(of: current)
            let hop = try await PinnedHTTPClient.with(
                host: host, address: Self.preferredAddress(addresses), configuration: clientConfiguration, eventLoopGroup: eventLoopGroup
            ) { [current] client -> Hop in
                let response = try await execute(current, client: client, deadline: deadline)
                if let target = Self.redirectTarget(of: response, from: current) { return .redirect(target) }
                return .final(try await render(response, url: current))
            }
            switch hop {
            case .final(let result):
                return result
            case .redirect(let target):
                redirects += 1
                guard redirects <= configuration.maxRedirects else {
                    throw ToolError("web_fetch: too many redirects (more than \(configuration.maxRedirects))")
                }
                current = target
            }
        }
    }

    /// IPv4 first: many hosts publish AAAA records without having IPv6 connectivity themselves.
    static func preferredAddress(_ addresses: [IPAddress]) -> IPAddress {
        addresses.first { if case .v4 = $0 { return true } else { return false } } ?? addresses[0]
    }

    private func execute(_ url: URL, client: HTTPClient, deadline: NIODeadline) async throws -> HTTPClientResponse {
        var request = HTTPClientRequest(url: url.absoluteString)
        request.method = .GET
        request.headers.add(name: "User-Agent", value: "Keel-WebFetch/1.0")
        request.headers.add(name: "Accept", value: "text/html,application/xhtml+xml,application/json;q=0.9,text/*;q=0.8,*/*;q=0.5")
        do {
            return try await client.execute(request, deadline: deadline)
        } catch let error as HTTPClientError where error == .deadlineExceeded {
            throw ToolError("timed out after \(configuration.timeout.shortDescription)")
        } catch is CancellationError {
            throw CancellationError()
        } catch {
            throw ToolError("web_fetch: request to '\(url.absoluteString)' failed: \(error)")
        }
    }

    /// The absolute URL a 3xx response points to, or `nil` when the response is final.
    static func redirectTarget(of response: HTTPClientResponse, from url: URL) -> URL? {
        guard [301, 302, 303, 307, 308].contains(response.status.code),
            let location = response.headers.first(name: "Location"),
            let target = URL(string: location, relativeTo: url)?.absoluteURL
        else { return nil }
        return target
    }

    private func render(_ response: HTTPClientResponse, url: URL) async throws -> JSONValue {
        let contentType = response.headers.first(name: "Content-Type")
        var result: [String: JSONValue] = [
            "url": .string(url.absoluteString),
            "status": JSONValue(Int(response.status.code)),
            "content_type": JSONValue(contentType),
            "truncated": false,
        ]
        let mediaType = MediaType(contentType: contentType)
        if case .binary = mediaType {
            return .object(Self.describeBinary(result, declaredLength: response.headers.first(name: "Content-Length")))
        }
        var (bytes, truncated) = try await readBody(response.body, from: url)
        if truncated { bytes = UTF8Truncation.trimIncompleteTail(bytes) }
        let charset: String?
        switch mediaType {
        case .text(let declared): charset = declared
        case .unknown where MediaType.looksLikeText(bytes): charset = nil
        default:
            return .object(Self.describeBinary(result, declaredLength: response.headers.first(name: "Content-Length")))
        }
        result["body"] = .string(MediaType.decode(bytes, charset: charset))
        result["truncated"] = .bool(truncated)
        return .object(result)
    }

    private static func describeBinary(_ result: [String: JSONValue], declaredLength: String?) -> [String: JSONValue] {
        var result = result
        result["binary"] = true
        if let length = declaredLength.flatMap(Int.init) { result["content_length"] = JSONValue(length) }
        return result
    }

    /// Reads at most `maxBytes`; stops (and so cancels the transfer) as soon as more arrives.
    private func readBody(_ body: HTTPClientResponse.Body, from url: URL) async throws -> (bytes: [UInt8], truncated: Bool) {
        var bytes: [UInt8] = []
        do {
            for try await chunk in body {
                let remaining = configuration.maxBytes - bytes.count
                if chunk.readableBytes > remaining {
                    bytes.append(contentsOf: chunk.readableBytesView.prefix(remaining))
                    return (bytes, true)
                }
                bytes.append(contentsOf: chunk.readableBytesView)
            }
        } catch let error as HTTPClientError where error == .deadlineExceeded {
            throw ToolError("timed out after \(configuration.timeout.shortDescription)")
        } catch is CancellationError {
            throw CancellationError()
        } catch {
            throw ToolError("web_fetch: reading the response from '\(url.absoluteString)' failed: \(error)")
        }
        return (bytes, false)
    }
}
