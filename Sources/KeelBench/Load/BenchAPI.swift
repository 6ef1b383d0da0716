import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1

/// The benchmark's calls to a server's HTTP API over the one shared `HTTPClient`: JSON in, status
/// and body out. Setup calls decode their answers with JSONSerialization (a few per run); the
/// per-turn POST only reads the status and drains the body so its connection goes back to the pool.
public struct BenchAPI: Sendable {
    public let client: HTTPClient
    public let baseURL: String
    public var requestTimeout: TimeAmount = .seconds(60)

    public init(client: HTTPClient, baseURL: String) {
        self.client = client
        self.baseURL = baseURL
    }

    /// An HTTPClient whose pool keeps `connections` HTTP/1.1 connections per host (at least two
    /// per session: the SSE stream and the POSTs).
    public static func makeClient(connections: Int) -> HTTPClient {
        var configuration = HTTPClient.Configuration()
        configuration.httpVersion = .http1Only
        configuration.connectionPool = .init(idleTimeout: .seconds(60), concurrentHTTP1ConnectionsPerHostSoftLimit: connections)
        configuration.timeout = .init(connect: .seconds(5))
        configuration.decompression = .disabled
        return HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: configuration)
    }

    /// POSTs raw JSON bytes; returns the status (the body is drained and dropped).
    public func post(_ path: String, body: ByteBuffer) async throws -> UInt {
        let response = try await client.execute(request(.POST, path, body: body), timeout: requestTimeout)
        for try await _ in response.body {}
        return response.status.code
    }

    /// A JSON object in, the status and the decoded answer out.
    public func call(_ method: HTTPMethod, _ path: String, json: [String: Any]? = nil) async throws -> (status: UInt, json: Any?) {
        let body = try json.map { ByteBuffer(bytes: try JSONSerialization.data(withJSONObject: $0)) }
        let response = try await client.execute(request(method, path, body: body), timeout: requestTimeout)
        let bytes = try await response.body.collect(upTo: 16 << 20)
        let decoded = bytes.readableBytes == 0 ? nil : try? JSONSerialization.jsonObject(with: Data(bytes.readableBytesView))
        return (response.status.code, decoded)
    }

    /// `call` that expects `status` and an object with a string `id`; returns the id.
    public func create(_ path: String, json: [String: Any], expecting status: UInt = 201) async throws -> String {
        let (answered, decoded) = try await call(.POST, path, json: json)
        guard answered == status, let id = (decoded as? [String: Any])?["id"] as? String else {
            throw BenchError.api("POST \(path): \(answered) \(Self.preview(decoded))")
        }
        return id
    }

    public func request(_ method: HTTPMethod, _ path: String, body: ByteBuffer? = nil, headers: [(String, String)] = []) -> HTTPClientRequest {
        var request = HTTPClientRequest(url: baseURL + path)
        request.method = method
        if let body {
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(body)
        }
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        return request
    }

    static func preview(_ json: Any?) -> String {
        guard let json, let data = try? JSONSerialization.data(withJSONObject: json) else { return "(no JSON body)" }
        return String(decoding: data.prefix(300), as: UTF8.self)
    }
}
