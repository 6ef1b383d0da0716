/// An incremental Server-Sent Events parser for the load generator's session streams.
///
/// Bytes arrive in whatever pieces the connection delivers; a frame (or even a line) may be split
/// across them. The parser keeps only the unfinished line between calls and, per frame, the event
/// name, the `id:` and the raw `data:` bytes — it never decodes the JSON, so reading a busy stream
/// costs a byte scan and a few small strings per frame. Comment lines (`: heartbeat`) and `retry:`
/// are skipped, as the SSE specification says; the last `id:` seen is kept for `Last-Event-ID`
/// when the stream is reconnected.
public struct SSEFrameParser: Sendable {
    /// The last event id the stream carried (the SSE "last event ID buffer").
    public private(set) var lastEventID: String?

    private var partialLine: [UInt8] = []
    private var event: String?
    private var id: String?
    private var data: [UInt8] = []
    private var hasData = false

    public init(lastEventID: String? = nil) {
        self.lastEventID = lastEventID
    }

    /// Feeds the next piece of the stream; returns the frames it completed, in order.
    public mutating func consume(_ bytes: some Sequence<UInt8>) -> [SSEFrame] {
        var frames: [SSEFrame] = []
        for byte in bytes {
            if byte == UInt8(ascii: "\n") {
                if let frame = endLine() { frames.append(frame) }
            } else {
                partialLine.append(byte)
            }
        }
        return frames
    }

    /// Ends the current line (a trailing `\r` of a CRLF ending is dropped); a blank line ends the frame.
    private mutating func endLine() -> SSEFrame? {
        defer { partialLine.removeAll(keepingCapacity: true) }
        if partialLine.last == UInt8(ascii: "\r") { partialLine.removeLast() }
        if partialLine.isEmpty { return dispatch() }
        if partialLine[0] == UInt8(ascii: ":") { return nil }  // a comment: heartbeats
        let colon = partialLine.firstIndex(of: UInt8(ascii: ":")) ?? partialLine.endIndex
        var valueStart = colon < partialLine.endIndex ? colon + 1 : colon
        if valueStart < partialLine.endIndex, partialLine[valueStart] == UInt8(ascii: " ") { valueStart += 1 }
        let name = partialLine[..<colon]
        let value = partialLine[valueStart...]
        if name.elementsEqual("data".utf8) {
            if hasData { data.append(UInt8(ascii: "\n")) }
            data.append(contentsOf: value)
            hasData = true
        } else if name.elementsEqual("event".utf8) {
            event = String(decoding: value, as: UTF8.self)
        } else if name.elementsEqual("id".utf8), !value.contains(0) {
            let text = String(decoding: value, as: UTF8.self)
            id = text
            lastEventID = text
        }
        return nil
    }

    /// A frame is dispatched only when it carried data; a blank line after a comment is nothing.
    private mutating func dispatch() -> SSEFrame? {
        defer {
            event = nil
            id = nil
            data.removeAll(keepingCapacity: true)
            hasData = false
        }
        guard hasData else { return nil }
        return SSEFrame(event: event ?? "message", id: id, data: data)
    }
}

/// One dispatched SSE frame: its event name (`message` when none was given), its `id:` if it had
/// one, and its `data:` lines joined by `\n`, undecoded.
public struct SSEFrame: Sendable, Equatable {
    public var event: String
    public var id: String?
    public var data: [UInt8]

    public init(event: String, id: String?, data: [UInt8]) {
        self.event = event
        self.id = id
        self.data = data
    }

    public var dataText: String { String(decoding: data, as: UTF8.self) }
}
