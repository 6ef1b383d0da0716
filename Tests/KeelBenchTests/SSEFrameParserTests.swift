import Testing

@testable import KeelBench

/// The load generator's SSE parser: frames split anywhere across reads, `id:` tracking for
/// `Last-Event-ID`, comments (heartbeats) and `retry:` ignored.
@Suite struct SSEFrameParserTests {
    /// A stream as Keel writes it: `retry` + `connected`, events with ids, a heartbeat, `disconnecting`.
    static let stream = """
        retry: 3000
        event: connected
        data: {"status":"connected"}

        event: turn.started
        id: event_01
        data: {"type":"turn.started"}

        : heartbeat

        event: turn.completed
        id: event_02
        data: {"type":"turn.completed","n":1}

        event: disconnecting
        data: {"reason":"connection_cycle","retry_ms":3000}


        """

    static let expected = [
        SSEFrame(event: "connected", id: nil, data: Array(#"{"status":"connected"}"#.utf8)),
        SSEFrame(event: "turn.started", id: "event_01", data: Array(#"{"type":"turn.started"}"#.utf8)),
        SSEFrame(event: "turn.completed", id: "event_02", data: Array(#"{"type":"turn.completed","n":1}"#.utf8)),
        SSEFrame(event: "disconnecting", id: nil, data: Array(#"{"reason":"connection_cycle","retry_ms":3000}"#.utf8)),
    ]

    @Test func parsesAWholeStream() {
        var parser = SSEFrameParser()
        #expect(parser.consume(Self.stream.utf8) == Self.expected)
        #expect(parser.lastEventID == "event_02")
    }

    @Test func framesSplitAtEveryByteBoundaryParseTheSame() {
        let bytes = Array(Self.stream.utf8)
        for cut in 0...bytes.count {
            var parser = SSEFrameParser()
            let frames = parser.consume(bytes[..<cut]) + parser.consume(bytes[cut...])
            #expect(frames == Self.expected, "cut at \(cut)")
        }
        var parser = SSEFrameParser()
        #expect(bytes.flatMap { parser.consume([$0]) } == Self.expected)
    }

    @Test func lastEventIDFollowsTheStreamAndSurvivesAReconnect() {
        var parser = SSEFrameParser()
        _ = parser.consume("event: a\nid: 7\ndata: x\n\n".utf8)
        #expect(parser.lastEventID == "7")
        _ = parser.consume("event: b\ndata: y\n\n".utf8)
        #expect(parser.lastEventID == "7")  // a frame without id keeps the last one
        var resumed = SSEFrameParser(lastEventID: parser.lastEventID)
        #expect(resumed.lastEventID == "7")
        #expect(resumed.consume("id: 8\ndata: z\n\n".utf8) == [SSEFrame(event: "message", id: "8", data: Array("z".utf8))])
        #expect(resumed.lastEventID == "8")
    }

    @Test func commentsRetryAndDatalessFramesDispatchNothing() {
        var parser = SSEFrameParser()
        #expect(parser.consume(": heartbeat\n\n: another\n\nretry: 10\n\nevent: nothing\n\n".utf8).isEmpty)
        // The event name of a frame without data does not leak into the next frame.
        #expect(parser.consume("data: d\n\n".utf8) == [SSEFrame(event: "message", id: nil, data: Array("d".utf8))])
    }

    @Test func crlfLinesMultiLineDataAndFieldsWithoutSpaces() {
        var parser = SSEFrameParser()
        let frames = parser.consume("event:e\r\nid:1\r\ndata: one\r\ndata:two\r\n\r\n".utf8)
        #expect(frames == [SSEFrame(event: "e", id: "1", data: Array("one\ntwo".utf8))])
        #expect(frames.first?.dataText == "one\ntwo")
    }
}
