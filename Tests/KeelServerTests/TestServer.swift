import AsyncHTTPClient
import Foundation
import Hummingbird
import HummingbirdTesting
import KeelCore
import KeelServer
import Logging
import NIOCore
import Testing

/// Anything that can read a session's event log: the waits below work against the in-process
/// server and against a server in another process alike.
protocol SessionEventReader: Sendable {
    func events(_ sessionID: String) async throws -> [JSONValue]
}

extension SessionEventReader {
    /// Waits (bounded) until the session has `count` `session.idled` events.
    @discardableResult
    func waitForIdle(_ sessionID: String, turns count: Int = 1, timeout: Duration = .seconds(30)) async throws -> [JSONValue] {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            let events = try await events(sessionID)
            if events.filter({ $0["type"]?.stringValue == "session.idled" }).count >= count { return events }
            try await Task.sleep(for: .milliseconds(20))
        }
        Issue.record("session \(sessionID) did not reach \(count) idle events in time")
        return try await events(sessionID)
    }

    /// Waits (bounded) until the session has an event of `type`.
    func waitForEvent(_ sessionID: String, _ type: String, timeout: Duration = .seconds(30)) async throws {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if try await events(sessionID).contains(where: { $0["type"]?.stringValue == type }) { return }
            try await Task.sleep(for: .milliseconds(20))
        }
        Issue.record("no \(type) event in session \(sessionID) in time")
        throw CancellationError()
    }
}

/// A real Keel server on an ephemeral loopback port, started per test with its own environment.
struct TestServer: SessionEventReader {
    let client: any TestClientProtocol
    let port: Int

    static func run<T: Sendable>(
        environment: [String: String] = [:], overrides: KeelServer.Overrides = KeelServer.Overrides(deltaBatchInterval: .zero),
        logger capturedLogger: Logger? = nil, _ body: @Sendable (TestServer) async throws -> T
    ) async throws -> T {
        var env = ["DEV_MODE": "1", "HOST": "127.0.0.1", "PORT": "0", "LOG_LEVEL": "warning"]
        env.merge(environment) { _, new in new }
        let configuration = try KeelConfiguration(environment: env)
        var logger = Logger(label: "keel-test")
        logger.logLevel = .warning
        if let capturedLogger { logger = capturedLogger }
        let app = try await KeelServer.makeApplication(configuration: configuration, logger: logger, overrides: overrides)
        return try await app.test(.live) { client in
            try await body(TestServer(client: client, port: client.port ?? 0))
        }
    }

    struct Reply: Sendable {
        var status: Int
        var headers: HTTPFields
        var text: String
        var json: JSONValue { JSONValue.parse(text) ?? .null }
    }

    @discardableResult
    func request(_ method: HTTPRequest.Method, _ path: String, json: JSONValue? = nil, raw: String? = nil, headers: HTTPFields = [:])
        async throws -> Reply
    {
        var headers = headers
        var body: ByteBuffer?
        if let json {
            body = ByteBuffer(string: json.jsonString)
            headers[.contentType] = "application/json"
        } else if let raw {
            body = ByteBuffer(string: raw)
            headers[.contentType] = "application/json"
        }
        return try await client.execute(uri: path, method: method, headers: headers, body: body) { response in
            Reply(status: Int(response.status.code), headers: response.headers, text: String(buffer: response.body))
        }
    }

    func createSession(_ body: JSONValue = [:]) async throws -> String {
        let reply = try await request(.post, "/v1/sessions", json: body)
        #expect(reply.status == 201, "\(reply.text)")
        return reply.json["id"]?.stringValue ?? ""
    }

    func send(_ sessionID: String, _ text: String) async throws -> Reply {
        try await request(
            .post, "/v1/sessions/\(sessionID)/messages",
            json: ["message": ["role": "user", "content": [["type": "text", "text": .string(text)]]]])
    }

    func events(_ sessionID: String) async throws -> [JSONValue] {
        try await events(sessionID, query: "")
    }

    func events(_ sessionID: String, query: String) async throws -> [JSONValue] {
        let reply = try await request(.get, "/v1/sessions/\(sessionID)/events\(query)")
        return reply.json["data"]?.arrayValue ?? []
    }

    var baseURL: String { "http://127.0.0.1:\(port)" }
}

/// Reads a server-sent event stream frame by frame over a real connection.
final class SSEReader: @unchecked Sendable {
    struct Frame: Sendable {
        var event: String?
        var id: String?
        var data: String?
        var isComment: Bool
        var json: JSONValue? { data.flatMap(JSONValue.parse) }
    }

    private var iterator: HTTPClientResponse.Body.AsyncIterator?
    private var pending = ""
    let status: Int
    let headers: [(String, String)]
    let bodyText: String?

    static func open(_ url: String, headers: [(String, String)] = []) async throws -> SSEReader {
        var request = HTTPClientRequest(url: url)
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(10))
        return try await SSEReader(response: response)
    }

    private init(response: HTTPClientResponse) async throws {
        status = Int(response.status.code)
        headers = response.headers.map { ($0.name, $0.value) }
        if response.status == .ok {
            iterator = response.body.makeAsyncIterator()
            bodyText = nil
        } else {
            let collected = try await response.body.collect(upTo: 1 << 20)
            bodyText = String(buffer: collected)
            iterator = nil
        }
    }

    /// The next frame, or nil when the server closed the stream. The timeout is a liveness bound
    /// (it only matters when a test fails), checked whenever a chunk arrives.
    func next(timeout: Duration = .seconds(30)) async throws -> Frame? {
        let deadline = ContinuousClock.now + timeout
        while true {
            if let range = pending.range(of: "\n\n") {
                let block = String(pending[..<range.lowerBound])
                pending.removeSubrange(..<range.upperBound)
                return Self.parse(block)
            }
            guard ContinuousClock.now < deadline else { throw SSETimeout() }
            guard let chunk = try await iterator?.next() else { return nil }
            pending += String(buffer: chunk)
        }
    }

    /// Frames until one satisfies `predicate` (inclusive).
    func frames(until predicate: (Frame) -> Bool, timeout: Duration = .seconds(30)) async throws -> [Frame] {
        var collected: [Frame] = []
        while let frame = try await next(timeout: timeout) {
            collected.append(frame)
            if predicate(frame) { return collected }
        }
        return collected
    }

    static func parse(_ block: String) -> Frame {
        var frame = Frame(isComment: false)
        var dataLines: [String] = []
        for line in block.split(separator: "\n", omittingEmptySubsequences: false) {
            if line.hasPrefix(":") {
                frame.isComment = true
                frame.data = String(line.dropFirst()).trimmingCharacters(in: .whitespaces)
            } else if line.hasPrefix("event: ") {
                frame.event = String(line.dropFirst(7))
            } else if line.hasPrefix("id: ") {
                frame.id = String(line.dropFirst(4))
            } else if line.hasPrefix("data: ") {
                dataLines.append(String(line.dropFirst(6)))
            }
        }
        if !dataLines.isEmpty { frame.data = dataLines.joined(separator: "\n") }
        return frame
    }
}

struct SSETimeout: Error {}

extension Array where Element == JSONValue {
    var types: [String] { compactMap { $0["type"]?.stringValue } }
}
