import Hummingbird
import KeelLLM
import Testing

@Suite struct ServerSentEventParserTests {
    private func parse(_ pieces: [String], finish: Bool = true) -> [ServerSentEvent] {
        var parser = ServerSentEventParser()
        var events = pieces.flatMap { parser.feed(ByteBuffer(string: $0)) }
        if finish { events += parser.finish() }
        return events
    }

    @Test func parsesNamedEventsWithLF() {
        let events = parse(["event: ping\ndata: {\"type\":\"ping\"}\n\nevent: message_stop\ndata: {}\n\n"])
        #expect(events == [
            ServerSentEvent(event: "ping", data: "{\"type\":\"ping\"}"),
            ServerSentEvent(event: "message_stop", data: "{}"),
        ])
    }

    @Test func parsesCRLFAndBareCR() {
        #expect(parse(["data: a\r\n\r\ndata: b\r\rdata: c\n\n"]).map(\.data) == ["a", "b", "c"])
    }

    @Test func joinsMultiLineDataAndSkipsComments() {
        let events = parse([": keep-alive\n\ndata: line one\ndata:line two\n: comment\ndata\n\n"])
        #expect(events == [ServerSentEvent(data: "line one\nline two\n")])
    }

    @Test func eventNameResetsAfterDispatch() {
        let events = parse(["event: a\ndata: 1\n\ndata: 2\n\n"])
        #expect(events.map(\.event) == ["a", nil])
    }

    @Test func blankLinesWithoutDataDispatchNothing() {
        #expect(parse(["\n\n\r\n: only a comment\n\nevent: x\n\n"]).isEmpty)
    }

    @Test func keepsTheLastEventID() {
        #expect(parse(["id: 7\ndata: x\n\ndata: y\n\n"]).map(\.id) == ["7", "7"])
    }

    /// Every possible split point (including inside CRLF and inside a multi-byte character)
    /// must give the same events as the unsplit stream.
    @Test func chunkBoundariesAnywhere() {
        let wire = "event: delta\r\ndata: {\"text\":\"héllo 👋\"}\r\n\r\ndata: second\n\n"
        let bytes = Array(wire.utf8)
        let expected = parse([wire])
        #expect(expected.count == 2)
        for cut in 1..<bytes.count {
            var parser = ServerSentEventParser()
            var events = parser.feed(ByteBuffer(bytes: bytes[..<cut]))
            events += parser.feed(ByteBuffer(bytes: bytes[cut...]))
            events += parser.finish()
            #expect(events == expected, "split at \(cut)")
        }
        var parser = ServerSentEventParser()
        let byteByByte = bytes.flatMap { parser.feed(ByteBuffer(bytes: [$0])) } + parser.finish()
        #expect(byteByByte == expected)
    }

    @Test func finishFlushesAnUnterminatedEvent() {
        #expect(parse(["data: [DONE]"]).map(\.data) == ["[DONE]"])
        #expect(parse(["data: [DONE]"], finish: false).isEmpty)
    }
}
