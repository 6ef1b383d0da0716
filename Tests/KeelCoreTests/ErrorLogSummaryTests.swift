import KeelCore
import Testing

@Suite("ErrorLogSummary")
struct ErrorLogSummaryTests {
    struct PayloadError: Error, CustomStringConvertible {
        var payload: String
        var description: String { "could not decode \(payload)" }
    }

    @Test("logs the type and a message cut to 500 bytes at a character boundary")
    func truncates() {
        let error = PayloadError(payload: String(repeating: "é", count: 100_000) + "SECRET-TAIL")
        let metadata = ErrorLogSummary.metadata(error)
        #expect(metadata["error.type"] == "KeelCoreTests.ErrorLogSummaryTests.PayloadError")
        let message = "\(metadata["error.message"] ?? "")"
        #expect(message.hasPrefix("could not decode éé"))
        #expect(!message.contains("SECRET-TAIL"))
        #expect(message.hasSuffix("… (\(error.description.utf8.count) bytes)"))
        let kept = message.prefix { $0 != "…" }
        #expect(kept.utf8.count <= ErrorLogSummary.maxMessageBytes)
        #expect(!kept.contains("\u{FFFD}"))
    }

    @Test("short messages are kept whole")
    func shortMessage() {
        #expect(ErrorLogSummary.message(PayloadError(payload: "x")) == "could not decode x")
    }
}
