import KeelTestSupport
import NIOCore

/// The fake provider of the end-to-end tests: a script of replies, one per request, with a 500
/// for any request beyond it.
enum FakeProviderServer {
    static let unscripted = FakeReply.status(
        500, body: #"{"error":{"message":"fake provider: unscripted request","type":"server_error"}}"#)

    static func run<T: Sendable>(
        script: [FakeReply], _ body: (_ fake: FakeProviderLog, _ baseURL: String) async throws -> T
    ) async throws -> T {
        try await withFakeProvider({ ordinal in ordinal < script.count ? script[ordinal] : unscripted }) { baseURL, log in
            try await body(log, baseURL)
        }
    }
}

extension FakeReply {
    /// Events back to back, cut at 61-byte offsets so events, lines and UTF-8 sequences straddle writes.
    static func stream(_ events: [String], pieceSize: Int = 61) -> FakeReply {
        .stream(events.joined(), pieceSize: pieceSize)
    }

    static func status(_ status: Int, json body: String) -> FakeReply {
        .status(status, body: body)
    }
}
