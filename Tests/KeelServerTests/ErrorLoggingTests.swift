import Foundation
import Hummingbird
import HummingbirdTesting
@testable import KeelHTTP
import Logging
import Synchronization
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

/// Collects formatted log lines.
final class LogCapture: Sendable {
    private let stored = Mutex<[String]>([])

    var lines: [String] { stored.withLock { $0 } }

    func logger() -> Logger {
        Logger(label: "keel-test.capture") { _ in Handler(capture: self) }
    }

    struct Handler: LogHandler {
        let capture: LogCapture
        var metadata: Logger.Metadata = [:]
        var logLevel: Logger.Level = .trace

        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }

        func log(event: LogEvent) {
            let merged = metadata.merging(event.metadata ?? [:]) { $1 }
            capture.stored.withLock { $0.append("\(event.level) \(event.message) \(merged)") }
        }
    }
}
