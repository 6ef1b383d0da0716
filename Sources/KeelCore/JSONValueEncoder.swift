import Foundation

/// Encodes an `Encodable` straight into a `JSONValue` tree, with `KeelJSON`'s conventions
/// (timestamps as RFC 3339 text with milliseconds; non-finite numbers refused like `JSONEncoder`).
///
/// Written by hand for the same reason as `JSONValueDecoder`: every event's payload became JSON
/// text and was parsed back just to build its `data`.
enum JSONValueEncoding {
    static func encode<T: Encodable>(_ value: T) throws -> JSONValue {
        try box(value, codingPath: []).json
    }

    fileprivate static func box<T: Encodable>(_ value: T, codingPath: [any CodingKey]) throws -> Node {
        let node = Node()
        if let date = value as? Date {
            node.scalar = .string(KeelJSON.timestamp(date))
        } else if let json = value as? JSONValue {
            node.scalar = json
        } else {
            try value.encode(to: NodeEncoder(node: node, codingPath: codingPath))
        }
        return node
    }

    fileprivate static func number(_ value: Double, codingPath: [any CodingKey]) throws -> JSONValue {
        guard value.isFinite else {
            throw EncodingError.invalidValue(
                value, .init(codingPath: codingPath, debugDescription: "\(value) is not representable in JSON"))
        }
        return .number(value)
    }
}

/// One value under construction. Containers write into it by reference, as `Encoder`'s
/// container API requires; `object` / `array` are mutated in place (no copy per key).
private final class Node {
    var scalar: JSONValue = .null
    var object: [String: Node]?
    var array: [Node]?

    var json: JSONValue {
        if let object { return .object(object.mapValues(\.json)) }
        if let array { return .array(array.map(\.json)) }
        return scalar
    }

    func makeObject() {
        if object == nil {
            object = [:]
            array = nil
        }
    }

    func makeArray() {
        if array == nil {
            array = []
            object = nil
        }
    }
}

private struct NodeEncoder: Encoder {
    let node: Node
    let codingPath: [any CodingKey]
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    func container<Key: CodingKey>(keyedBy _: Key.Type) -> KeyedEncodingContainer<Key> {
        node.makeObject()
        return KeyedEncodingContainer(KeyedContainer<Key>(node: node, codingPath: codingPath))
    }

    func unkeyedContainer() -> any UnkeyedEncodingContainer {
        node.makeArray()
        return UnkeyedContainer(node: node, codingPath: codingPath)
    }

    func singleValueContainer() -> any SingleValueEncodingContainer {
        SingleValue(node: node, codingPath: codingPath)
    }
}

private struct SingleValue: SingleValueEncodingContainer {
    let node: Node
    let codingPath: [any CodingKey]

    private func set(_ value: JSONValue) {
        node.object = nil
        node.array = nil
        node.scalar = value
    }

    mutating func encodeNil() { set(.null) }
    mutating func encode(_ value: Bool) { set(.bool(value)) }
    mutating func encode(_ value: String) { set(.string(value)) }
    mutating func encode(_ value: Double) throws { set(try JSONValueEncoding.number(value, codingPath: codingPath)) }
    mutating func encode(_ value: Float) throws {
        // Through its shortest text, as JSONEncoder writes it: 0.1 stays 0.1, not 0.10000000149.
        set(try JSONValueEncoding.number(Double("\(value)") ?? Double(value), codingPath: codingPath))
    }
    mutating func encode(_ value: Int) { set(.number(Double(value))) }
    mutating func encode(_ value: Int8) { set(.number(Double(value))) }
    mutating func encode(_ value: Int16) { set(.number(Double(value))) }
    mutating func encode(_ value: Int32) { set(.number(Double(value))) }
    mutating func encode(_ value: Int64) { set(.number(Double(value))) }
    mutating func encode(_ value: UInt) { set(.number(Double(value))) }
    mutating func encode(_ value: UInt8) { set(.number(Double(value))) }
    mutating func encode(_ value: UInt16) { set(.number(Double(value))) }
    mutating func encode(_ value: UInt32) { set(.number(Double(value))) }
    mutating func encode(_ value: UInt64) { set(.number(Double(value))) }

    mutating func encode<T: Encodable>(_ value: T) throws {
        let boxed = try JSONValueEncoding.box(value, codingPath: codingPath)
        node.scalar = boxed.scalar
        node.object = boxed.object
        node.array = boxed.array
    }
}

private struct KeyedContainer<Key: CodingKey>: KeyedEncodingContainerProtocol {
    let node: Node
    let codingPath: [any CodingKey]

    private func set(_ child: Node, for key: Key) { node.object?[key.stringValue] = child }

    private func set(_ value: JSONValue, for key: Key) {
        let child = Node()
        child.scalar = value
        set(child, for: key)
    }

    mutating func encodeNil(forKey key: Key) { set(.null, for: key) }
    mutating func encode(_ value: Bool, forKey key: Key) { set(.bool(value), for: key) }
    mutating func encode(_ value: String, forKey key: Key) { set(.string(value), for: key) }
    mutating func encode(_ value: Double, forKey key: Key) throws {
        set(try JSONValueEncoding.number(value, codingPath: codingPath + [key]), for: key)
    }
    mutating func encode(_ value: Float, forKey key: Key) throws {
        set(try JSONValueEncoding.number(Double("\(value)") ?? Double(value), codingPath: codingPath + [key]), for: key)
    }
    mutating func encode(_ value: Int, forKey key: Key) { set(.number(Double(value)), for: key) }
    mutating func encode(_ value: Int8, forKey key: Key) { set(.number(Double(value)), for: key) }
    mutating func encode(_ value: Int16, forKey key: Key) { set(.number(Double(value)), for: key) }
    mutating func encode(_ value: Int32, forKey key: Key) { set(.number(Double(value)), for: key) }
    mutating func encode(_ value: Int64, forKey key: Key) { set(.number(Double(value)), for: key) }
    mutating func encode(_ value: UInt, forKey key: Key) { set(.number(Double(value)), for: key) }
    mutating func encode(_ value: UInt8, forKey key: Key) { set(.number(Double(value)), for: key) }
    mutating func encode(_ value: UInt16, forKey key: Key) { set(.number(Double(value)), for: key) }
    mutating func encode(_ value: UInt32, forKey key: Key) { set(.number(Double(value)), for: key) }
    mutating func encode(_ value: UInt64, forKey key: Key) { set(.number(Double(value)), for: key) }

    mutating func encode<T: Encodable>(_ value: T, forKey key: Key) throws {
        set(try JSONValueEncoding.box(value, codingPath: codingPath + [key]), for: key)
    }

    mutating func nestedContainer<NestedKey: CodingKey>(
        keyedBy type: NestedKey.Type, forKey key: Key
    ) -> KeyedEncodingContainer<NestedKey> {
        let child = Node()
        set(child, for: key)
        return NodeEncoder(node: child, codingPath: codingPath + [key]).container(keyedBy: type)
    }

    mutating func nestedUnkeyedContainer(forKey key: Key) -> any UnkeyedEncodingContainer {
        let child = Node()
        set(child, for: key)
        return NodeEncoder(node: child, codingPath: codingPath + [key]).unkeyedContainer()
    }

    mutating func superEncoder() -> any Encoder {
        let child = Node()
        node.object?["super"] = child
        return NodeEncoder(node: child, codingPath: codingPath)
    }

    mutating func superEncoder(forKey key: Key) -> any Encoder {
        let child = Node()
        set(child, for: key)
        return NodeEncoder(node: child, codingPath: codingPath + [key])
    }
}

private struct UnkeyedContainer: UnkeyedEncodingContainer {
    let node: Node
    let codingPath: [any CodingKey]
    var count: Int { node.array?.count ?? 0 }

    private func append(_ child: Node) { node.array?.append(child) }

    private func append(_ value: JSONValue) {
        let child = Node()
        child.scalar = value
        append(child)
    }

    mutating func encodeNil() { append(.null) }
    mutating func encode(_ value: Bool) { append(.bool(value)) }
    mutating func encode(_ value: String) { append(.string(value)) }
    mutating func encode(_ value: Double) throws { append(try JSONValueEncoding.number(value, codingPath: codingPath)) }
    mutating func encode(_ value: Float) throws {
        append(try JSONValueEncoding.number(Double("\(value)") ?? Double(value), codingPath: codingPath))
    }
    mutating func encode(_ value: Int) { append(.number(Double(value))) }
    mutating func encode(_ value: Int8) { append(.number(Double(value))) }
    mutating func encode(_ value: Int16) { append(.number(Double(value))) }
    mutating func encode(_ value: Int32) { append(.number(Double(value))) }
    mutating func encode(_ value: Int64) { append(.number(Double(value))) }
    mutating func encode(_ value: UInt) { append(.number(Double(value))) }
    mutating func encode(_ value: UInt8) { append(.number(Double(value))) }
    mutating func encode(_ value: UInt16) { append(.number(Double(value))) }
    mutating func encode(_ value: UInt32) { append(.number(Double(value))) }
    mutating func encode(_ value: UInt64) { append(.number(Double(value))) }

    mutating func encode<T: Encodable>(_ value: T) throws {
        append(try JSONValueEncoding.box(value, codingPath: codingPath))
    }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type) -> KeyedEncodingContainer<NestedKey> {
        let child = Node()
        append(child)
        return NodeEncoder(node: child, codingPath: codingPath).container(keyedBy: type)
    }

    mutating func nestedUnkeyedContainer() -> any UnkeyedEncodingContainer {
        let child = Node()
        append(child)
        return NodeEncoder(node: child, codingPath: codingPath).unkeyedContainer()
    }

    mutating func superEncoder() -> any Encoder {
        let child = Node()
        append(child)
        return NodeEncoder(node: child, codingPath: codingPath)
    }
}
