import KeelCore
import NIOCore
import NIOPosix

/// One GET over a bare TCP connection that the test closes itself, at a moment it chooses.
/// An HTTP client library may pool, linger or close lazily; these tests are about what the server
/// does when the peer goes away, so the close must be exact.
enum RawHTTPConnection {
    struct Reply: Sendable {
        /// The status code of the response head.
        var status: Int
        /// Everything received before the connection was closed.
        var text: String
    }

    /// Sends `GET path`, reads until one of `markers` appears (or the server closes), then closes.
    static func get(port: Int, _ path: String, readingUntil markers: [String], timeout: Duration = .seconds(30))
        async throws -> Reply
    {
        try await withTimeout(timeout) {
            let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .connect(host: "127.0.0.1", port: port) { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel)
                    }
                }
            return try await channel.executeThenClose { inbound, outbound in
                try await outbound.write(ByteBuffer(string: "GET \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"))
                var received = ""
                for try await chunk in inbound {
                    received += String(buffer: chunk)
                    if markers.contains(where: { received.contains($0) }) { break }
                }
                let statusLine = received.prefix { $0 != "\r" }.split(separator: " ")
                return Reply(status: statusLine.count > 1 ? Int(statusLine[1]) ?? 0 : 0, text: received)
            }
        }
    }
}
