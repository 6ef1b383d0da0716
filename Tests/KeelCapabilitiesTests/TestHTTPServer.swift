import KeelTestSupport
import Hummingbird
import Logging
import NIOCore

/// A local Hummingbird server on 127.0.0.1 with an ephemeral port, for `web_fetch` tests.
enum TestHTTPServer {
    /// Big enough to exceed the small `maxBytes` limits the tests configure.
    static let bigBodySize = 10_000

    static func makeRouter() -> Router<BasicRequestContext> {
        let router = Router()
        router.get("hello") { _, _ in "hello world" }
        router.get("big") { _, _ in String(repeating: "a", count: bigBodySize) }
        // Echoes the Host header, so tests can see which name a pinned connection asked for.
        router.get("host") { request, _ in request.head.authority ?? "" }
        router.get("json") { _, _ in
            Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(string: #"{"ok":true}"#)))
        }
        router.get("png") { _, _ in
            Response(status: .ok, headers: [.contentType: "image/png"], body: .init(byteBuffer: ByteBuffer(bytes: [0x89, 0x50, 0x4E, 0x47, 0, 0, 0])))
        }
        router.get("untyped-binary") { _, _ in
            Response(status: .ok, body: .init(byteBuffer: ByteBuffer(bytes: [0xFF, 0x00, 0xFE, 0x01])))
        }
        router.get("redirect") { _, _ in Response(status: .found, headers: [.location: "/hello"]) }
        router.get("redirect-loop") { _, _ in Response(status: .found, headers: [.location: "/redirect-loop"]) }
        router.get("redirect-ftp") { _, _ in Response(status: .movedPermanently, headers: [.location: "ftp://example.com/file"]) }
        router.get("redirect-localhost") { request, _ in
            let port = request.uri.queryParameters.get("port") ?? "0"
            return Response(status: .temporaryRedirect, headers: [.location: "http://localhost:\(port)/hello"])
        }
        // Slow answers (simulated; far beyond the tests' timeouts, so a loose bound still tells a
        // timeout from waiting them out).
        router.get("slow-head") { _, _ in
            try await Task.sleep(for: .seconds(30))
            return "late"
        }
        router.get("slow-body") { _, _ in
            Response(
                status: .ok, headers: [.contentType: "text/plain"],
                body: ResponseBody { writer in
                    try await writer.write(ByteBuffer(string: "start "))
                    try await Task.sleep(for: .seconds(30))
                    try await writer.write(ByteBuffer(string: "end"))
                    try await writer.finish(nil)
                }
            )
        }
        return router
    }

    /// Runs the server for the duration of `body`, passing the base URL (`http://127.0.0.1:PORT`).
    static func withServer(_ body: @escaping @Sendable (_ baseURL: String, _ port: Int) async throws -> Void) async throws {
        try await LoopbackServer.run(makeRouter(), label: "keel-capabilities-tests") { baseURL, port in
            try await body(baseURL, port)
        }
    }
}
