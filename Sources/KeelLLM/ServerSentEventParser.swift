import NIOCore

/// An incremental parser for `text/event-stream` bodies.
///
/// Written by hand because none of our dependencies (AsyncHTTPClient, NIO) ships an SSE client
/// that works on an AsyncHTTPClient response body, and the format is small: lines ending in
/// CRLF, LF or CR; `field: value` pairs; `:` comments; a blank line dispatches the event.
/// Bytes are buffered until a whole line is present, so chunks may split lines (or multi-byte
/// UTF-8 characters) anywhere.
public struct ServerSentEventParser: Sendable {
    private var line: [UInt8] = []
    private var lastByteWasCR = false
    private var eventName: String?
    private var dataLines: [String] = []
    private var lastEventID: String?

    public init() {}

    /// Feeds one chunk of the body and returns the events it completed, in order.
    public mutating func feed(_ buffer: ByteBuffer) -> [ServerSentEvent] {
        var events: [ServerSentEvent] = []
        for byte in buffer.readableBytesView {
            // A CR already ended the line; the LF of a CRLF pair (possibly in the next chunk) is skipped.
            if lastByteWasCR {
                lastByteWasCR = false
                if byte == UInt8(ascii: "\n") { continue }
            }
            switch byte {
            case UInt8(ascii: "\n"):
                processLine(into: &events)
            case UInt8(ascii: "\r"):
                processLine(into: &events)
                lastByteWasCR = true
            default:
                line.append(byte)
            }
        }
        return events
    }

    /// Ends the stream. Leniently dispatches a final event that lacked its blank line, because
    /// some servers close the body right after the last `data:` line.
    public mutating func finish() -> [ServerSentEvent] {
        var events: [ServerSentEvent] = []
        if !line.isEmpty { processLine(into: &events) }
        dispatch(into: &events)
        return events
    }

    private mutating func processLine(into events: inout [ServerSentEvent]) {
        let text = String(decoding: line, as: UTF8.self)
        line.removeAll(keepingCapacity: true)
        if text.isEmpty {
            dispatch(into: &events)
            return
        }
        if text.hasPrefix(":") { return }  // comment, e.g. keep-alives
        let field: Substring
        var value: Substring
        if let colon = text.firstIndex(of: ":") {
            field = text[..<colon]
            value = text[text.index(after: colon)...]
            if value.hasPrefix(" ") { value = value.dropFirst() }
        } else {
            field = text[...]
            value = ""
        }
        switch field {
        case "event": eventName = String(value)
        case "data": dataLines.append(String(value))
        case "id" where !value.contains("\0"): lastEventID = String(value)
        default: break  // `retry` and unknown fields do not matter to a one-shot stream
        }
    }

    private mutating func dispatch(into events: inout [ServerSentEvent]) {
        defer {
            eventName = nil
            dataLines.removeAll()
        }
        guard !dataLines.isEmpty else { return }
        events.append(ServerSentEvent(event: eventName, data: dataLines.joined(separator: "\n"), id: lastEventID))
    }
}
