/// An event's wire JSON (SSE frames, the stored row), written by `JSONText`: the same fields in
/// the same order as its `Codable` form, at a fraction of the cost.
extension Event {
    public var jsonBytes: [UInt8] {
        var text = JSONText(capacity: 256 + data.estimatedJSONSize)
        text.raw("{")
        text.key("id", first: true)
        text.string(id)
        text.key("type")
        text.string(type.rawValue)
        text.key("ts")
        text.string(KeelJSON.timestamp(ts))
        text.key("session_id")
        text.string(sessionID)
        text.key("sequence")
        text.integer(sequence)
        text.key("context")
        context.write(to: &text)
        text.key("data")
        text.value(data)
        if let metadata {
            text.key("metadata")
            text.value(metadata)
        }
        if let tags {
            text.key("tags")
            text.value(.array(tags.map(JSONValue.string)))
        }
        text.raw("}")
        return text.bytes
    }
}

extension EventContext {
    /// The context of its JSON object form (unknown keys ignored); nil when it is not an object
    /// of strings.
    public init?(json: JSONValue) {
        guard case .object(let members) = json else { return nil }
        func field(_ key: String) -> (ok: Bool, value: String?) {
            switch members[key] {
            case nil, .null?: (true, nil)
            case .string(let value)?: (true, value)
            default: (false, nil)
            }
        }
        let fields = ["turn_id", "input_message_id", "exec_id", "trace_id", "span_id", "parent_span_id"].map(field)
        guard fields.allSatisfy(\.ok) else { return nil }
        self.init(turnID: fields[0].value, inputMessageID: fields[1].value)
        execID = fields[2].value
        traceID = fields[3].value
        spanID = fields[4].value
        parentSpanID = fields[5].value
    }

    public func write(to text: inout JSONText) {
        text.raw("{")
        var first = true
        for (key, value) in [
            ("turn_id", turnID), ("input_message_id", inputMessageID), ("exec_id", execID), ("trace_id", traceID),
            ("span_id", spanID), ("parent_span_id", parentSpanID),
        ] {
            guard let value else { continue }
            if !first { text.raw(",") }
            first = false
            text.string(key)
            text.raw(":")
            text.string(value)
        }
        text.raw("}")
    }
}

extension JSONValue {
    /// A cheap guess at the JSON text's size, for reserving capacity.
    var estimatedJSONSize: Int {
        switch self {
        case .null, .bool, .number: 8
        case .string(let text): text.utf8.count + 2
        case .array(let items): items.reduce(2) { $0 + $1.estimatedJSONSize + 1 }
        case .object(let members): members.reduce(2) { $0 + $1.key.utf8.count + 4 + $1.value.estimatedJSONSize }
        }
    }
}
