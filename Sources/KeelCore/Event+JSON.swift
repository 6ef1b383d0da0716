/// An event's wire JSON (SSE frames, the stored row), written by `JSONText`: the same fields in
/// the same order as its `Codable` form, at a fraction of the cost.
extension Event {
    public var jsonBytes: [UInt8] {
        var text = JSONText(capacity: 512)
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
        // Field by field, not through an array of pairs: this runs for every event written.
        func field(_ key: StaticString, _ value: String?) {
            guard let value else { return }
            text.key(key, first: first)
            first = false
            text.string(value)
        }
        field("turn_id", turnID)
        field("input_message_id", inputMessageID)
        field("exec_id", execID)
        field("trace_id", traceID)
        field("span_id", spanID)
        field("parent_span_id", parentSpanID)
        text.raw("}")
    }
}

extension JSONValue {
    /// About the size of the JSON text, in bytes, without writing it (a walk of the tree).
    public var estimatedJSONSize: Int {
        switch self {
        case .null, .bool, .number: 8
        case .string(let text): text.utf8.count + 2
        case .array(let items): items.reduce(2) { $0 + $1.estimatedJSONSize + 1 }
        case .object(let members): members.reduce(2) { $0 + $1.key.utf8.count + 4 + $1.value.estimatedJSONSize }
        }
    }
}
