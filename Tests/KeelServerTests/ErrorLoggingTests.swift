import Foundation
import Hummingbird
import HummingbirdTesting
@testable import KeelHTTP
import Logging
import Synchronization
import KeelTestSupport
import Testing

/// Issue 8 item 6: a failing request logs the error's type and a bounded message, never the
/// whole value it failed on.
@Suite("Error logging")
struct ErrorLoggingTests {
    struct HugeError: Error, CustomStringConvertible {
        var description: String { "value: " + String(repeating: "x", count: 200_000) + " END-OF-PAYLOAD" }
    }

    @Test("a 500 logs the error type and at most ~500 bytes of its message")
    func boundedErrorLog() async throws {
        let capture = LogCapture()
        let router = Router(context: BasicRequestContext.self)
        router.add(middleware: ErrorEnvelopeMiddleware())
        router.get("/boom") { _, _ -> String in throw HugeError() }
        let app = Application(router: router, logger: capture.logger())
        try await app.test(.router) { client in
            try await client.execute(uri: "/boom", method: .get) { response in
                #expect(response.status == .internalServerError)
                #expect(!String(buffer: response.body).contains("xxxx"))
            }
        }
        let line = try #require(capture.lines.first { $0.contains("request failed") })
        #expect(line.contains("error.type"))
        #expect(line.contains("HugeError"))
        #expect(!line.contains("END-OF-PAYLOAD"))
        #expect(line.utf8.count < 2_000, "log line of \(line.utf8.count) bytes")
    }
}
