import Foundation
import KeelCore
import KeelServer
import NIOCore
import Testing

/// Issue 8 items 4 and 5: HTTP connections are bounded in time and number, and an early error on
/// a body still being sent ends the connection.
@Suite("HTTP connection limits")
struct ConnectionLimitTests {
    static let healthRequest = "GET /health HTTP/1.1\r\nHost: keel\r\n\r\n"

    @Test("a request head trickled byte by byte is cut at the header deadline, also on a kept-alive connection")
    func slowHeadIsCut() async throws {
        try await TestServer.run(environment: ["HTTP_HEADER_TIMEOUT_SECS": "1", "HTTP_IDLE_TIMEOUT_SECS": "30"]) { server in
            // First request on a fresh connection, then the next request on a kept-alive one.
            for warmUp in [false, true] {
                let connection = try await RawConnection.open(port: server.port)
                defer { Task { await connection.close() } }
                if warmUp {
                    try await connection.send(Self.healthRequest)
                    #expect(try await connection.response().status == 200)
                }
                let started = ContinuousClock.now
                try await connection.send("GET /health HTTP/1.1\r\nHost: keel\r\nX-Slow: ")
                // A byte every 200 ms (the trickle's pace, not a wait): never idle for long, but the
                // head never completes. Until the server closes, bounded for a loaded machine.
                while !connection.isClosedByServer, ContinuousClock.now - started < .seconds(30) {
                    try? await connection.send("a")
                    try await Task.sleep(for: .milliseconds(200))
                }
                let elapsed = ContinuousClock.now - started
                #expect(connection.isClosedByServer, "the trickling connection stayed open (warm-up: \(warmUp))")
                // Cut by the 1 s header deadline (a trickle would keep it open for ever otherwise);
                // the upper bound is loose for a loaded machine.
                #expect(elapsed >= .milliseconds(300) && elapsed < .seconds(15), "closed after \(elapsed)")
            }
        }
    }

    @Test("a kept-alive connection with no request is closed after the idle timeout")
    func idleConnectionIsClosed() async throws {
        try await TestServer.run(environment: ["HTTP_IDLE_TIMEOUT_SECS": "1"]) { server in
            let connection = try await RawConnection.open(port: server.port)
            try await connection.send(Self.healthRequest)
            #expect(try await connection.response().status == 200)
            let waited = try await connection.waitUntilClosed(timeout: .seconds(30))
            #expect(waited >= .milliseconds(500), "closed after \(waited)")
            await connection.close()
        }
    }

    @Test("an SSE stream quieter than the idle timeout stays open")
    func quietStreamOutlivesIdleTimeout() async throws {
        try await TestServer.run(environment: ["HTTP_IDLE_TIMEOUT_SECS": "1", "SSE_HEARTBEAT_INTERVAL_SECS": "2.5"]) {
            server in
            let sessionID = try await server.createSession()
            let stream = try await SSEReader.open("\(server.baseURL)/v1/sessions/\(sessionID)/sse")
            #expect(try await stream.next()?.event == "connected")
            let started = ContinuousClock.now
            // Two heartbeats, each after more than twice the idle timeout of silence.
            var heartbeats = 0
            while heartbeats < 2, let frame = try await stream.next(timeout: .seconds(30)) {
                if frame.isComment { heartbeats += 1 }
            }
            #expect(heartbeats == 2)
            #expect(ContinuousClock.now - started >= .seconds(2))
        }
    }

    @Test("beyond HTTP_MAX_CONNECTIONS a connection gets a 503 envelope and is closed; admitted ones keep working")
    func connectionCap() async throws {
        try await TestServer.run(environment: ["HTTP_MAX_CONNECTIONS": "20"]) { server in
            let first = try await RawConnection.open(port: server.port)
            try await first.send(Self.healthRequest)
            #expect(try await first.response().status == 200)

            var admitted = [first]
            var refusal: (RawConnection, RawConnection.Response)?
            for _ in 0..<40 {
                let connection = try await RawConnection.open(port: server.port)
                try? await connection.send(Self.healthRequest)
                let response = try await connection.response()
                if response.status == 503 {
                    refusal = (connection, response)
                    break
                }
                #expect(response.status == 200)
                admitted.append(connection)
            }
            let (refused, response) = try #require(refusal, "no connection was refused")
            #expect(admitted.count <= 20)
            #expect(JSONValue.parse(response.body)?["error"]?["code"] == "too_many_connections")
            #expect(response.head.lowercased().contains("connection: close"))
            try await refused.waitUntilClosed(timeout: .seconds(30))
            await refused.close()

            // An admitted connection still works at the cap …
            try await first.send(Self.healthRequest)
            #expect(try await first.response().status == 200)
            // … and a freed slot admits a new one. The server counts the close asynchronously:
            // retry a refusal until it is admitted (bounded for a loaded machine).
            await admitted.removeLast().close()
            var readmitted = false
            let deadline = ContinuousClock.now + .seconds(30)
            while !readmitted, ContinuousClock.now < deadline {
                let connection = try await RawConnection.open(port: server.port)
                try? await connection.send(Self.healthRequest)
                readmitted = (try? await connection.response())?.status == 200
                if readmitted { admitted.append(connection) } else { await connection.close() }
                if !readmitted { try await Task.sleep(for: .milliseconds(50)) }
            }
            #expect(readmitted)
            for connection in admitted { await connection.close() }
        }
    }

    @Test("starting the server raises the open-descriptor soft limit to the hard limit")
    func descriptorLimitRaised() async throws {
        let before = try #require(DescriptorLimit.current())
        let lowered = min(before.hard, 4096) / 2
        try #require(lowered < before.hard, "hard limit too low to test")
        #expect(DescriptorLimit.setSoftLimit(lowered))
        #expect(DescriptorLimit.current()?.soft == lowered)
        try await TestServer.run { server in
            let health = try await server.request(.get, "/health")
            #expect(health.status == 200)
        }
        #expect(DescriptorLimit.current()?.soft == before.hard)
    }

    @Test("a 64 MB upload is answered 413 and the connection closed promptly",
          arguments: [("close", false), ("keep-alive", false), ("keep-alive", true)])
    func oversizedUploadEndsConnection(connectionHeader: String, chunked: Bool) async throws {
        try await TestServer.run { server in
            let size = 64 * 1024 * 1024
            let connection = try await RawConnection.open(port: server.port)
            let started = ContinuousClock.now
            let framing = chunked ? "Transfer-Encoding: chunked" : "Content-Length: \(size)"
            try await connection.send(
                "POST /v1/sessions HTTP/1.1\r\nHost: keel\r\nContent-Type: application/json\r\n"
                    + "\(framing)\r\nConnection: \(connectionHeader)\r\n\r\n")
            // Like urllib: send the whole body before reading anything (a reset ends it early).
            let megabyte = 1024 * 1024
            var chunk = ByteBuffer()
            if chunked { chunk.writeString(String(megabyte, radix: 16) + "\r\n") }
            chunk.writeRepeatingByte(UInt8(ascii: " "), count: megabyte)
            if chunked { chunk.writeString("\r\n") }
            let finished = try? await withDeadline(.seconds(30), throwing: { RawConnection.Timeout() }) { [chunk] in
                var sent = 0
                while sent < size {
                    do {
                        try await connection.send(chunk)
                    } catch {
                        return  // reset by the server: ends the upload, as it would urllib's
                    }
                    sent += megabyte
                }
                if chunked { try? await connection.send("0\r\n\r\n") }
            }
            guard finished != nil else {
                Issue.record("the upload stalled: the server stopped reading without closing")
                return await connection.close()
            }
            let waited = try await connection.waitUntilClosed(timeout: .seconds(30))
            let response = try await connection.response(timeout: .seconds(1))  // already received: the server closed
            #expect(response.status == 413)
            #expect(JSONValue.parse(response.body)?["error"]?["code"] == "payload_too_large")
            // Promptly; the bounds are loose for a loaded machine.
            #expect(ContinuousClock.now - started < .seconds(25), "upload, answer and close took \(ContinuousClock.now - started)")
            #expect(waited < .seconds(10))
            await connection.close()
        }
    }

    @Test("a declared Content-Length over the limit is refused before any body is sent")
    func declaredLengthRefusedEarly() async throws {
        try await TestServer.run { server in
            let connection = try await RawConnection.open(port: server.port)
            try await connection.send(
                "POST /v1/sessions HTTP/1.1\r\nHost: keel\r\nContent-Type: application/json\r\nContent-Length: 67108864\r\n\r\n")
            // No body is sent: an answer at all proves the refusal came before it.
            let response = try await connection.response(timeout: .seconds(30))
            #expect(response.status == 413)
            try await connection.waitUntilClosed(timeout: .seconds(30))
            await connection.close()
        }
    }
}
