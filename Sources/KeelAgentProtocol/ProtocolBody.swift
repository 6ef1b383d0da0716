import KeelCore

/// A request body read field by field; a field of the wrong type is a 422 naming it. Unknown
/// fields are ignored, as LangGraph clients send fields this server does not use.
struct ProtocolBody {
    let fields: [String: JSONValue]

    init(_ body: JSONValue, name: String) throws(AgentProtocolError) {
        switch body {
        case .object(let fields): self.fields = fields
        default: throw .invalid("The \(name) body must be a JSON object")
        }
    }

    func present(_ key: String) -> JSONValue? {
        guard let value = fields[key], value != .null else { return nil }
        return value
    }

    func string(_ key: String, maxBytes: Int) throws(AgentProtocolError) -> String? {
        guard let value = present(key) else { return nil }
        guard let text = value.stringValue else { throw .invalid("\(key) must be a string") }
        guard text.utf8.count <= maxBytes else { throw .invalid("\(key) exceeds \(maxBytes) bytes") }
        return text
    }

    func requiredString(_ key: String, maxBytes: Int = 200) throws(AgentProtocolError) -> String {
        guard let text = try string(key, maxBytes: maxBytes), !text.isEmpty else { throw .invalid("\(key) is required") }
        return text
    }

    /// An object field of at most `maxBytes` of JSON: config, context and metadata are kept with
    /// the record (and an assistant keeps them for each of its versions).
    func object(_ key: String, maxBytes: Int = maxObjectBytes) throws(AgentProtocolError) -> JSONValue? {
        guard let value = present(key) else { return nil }
        guard value.objectValue != nil else { throw .invalid("\(key) must be an object") }
        guard value.jsonString.utf8.count <= maxBytes else { throw .invalid("\(key) exceeds \(maxBytes) bytes of JSON") }
        return value
    }

    static let maxObjectBytes = 64 * 1024

    func bool(_ key: String) throws(AgentProtocolError) -> Bool? {
        guard let value = present(key) else { return nil }
        guard let flag = value.boolValue else { throw .invalid("\(key) must be a boolean") }
        return flag
    }

    func integer(_ key: String, default fallback: Int, range: ClosedRange<Int>) throws(AgentProtocolError) -> Int {
        guard let value = present(key) else { return fallback }
        guard let number = value.intValue, range.contains(number) else {
            throw .invalid("\(key) must be an integer in \(range.lowerBound)...\(range.upperBound)")
        }
        return number
    }

    func choice(_ key: String, _ allowed: [String], default fallback: String) throws(AgentProtocolError) -> String {
        guard let value = present(key) else { return fallback }
        guard let text = value.stringValue, allowed.contains(text) else {
            throw .invalid("\(key) must be one of \(allowed.joined(separator: ", "))")
        }
        return text
    }

    /// A string or a list of strings (`stream_mode`, `interrupt_before`), as a list.
    func stringList(_ key: String, maxCount: Int = 32) throws(AgentProtocolError) -> [String]? {
        guard let value = present(key) else { return nil }
        if let single = value.stringValue { return [single] }
        guard let list = value.arrayValue, list.count <= maxCount else {
            throw .invalid("\(key) must be a string or a list of at most \(maxCount) strings")
        }
        var strings: [String] = []
        for item in list {
            guard let text = item.stringValue, text.utf8.count <= 200 else {
                throw .invalid("\(key) must be a string or a list of strings")
            }
            strings.append(text)
        }
        return strings
    }
}
