/// JSON text for the hot paths (every SSE frame, every stored event, every tool argument's
/// `jsonString`), written byte by byte instead of through Foundation's `JSONEncoder`: profiling a
/// `sim` turn showed the encoder's boxing, generic dispatch and metadata lookups at a sixth of the
/// server's CPU. Output is what `KeelJSON.encoder` writes for the same value (whole numbers below
/// 9e15 as integers, slashes unescaped, non-ASCII as UTF-8); only object key order may differ,
/// which JSON leaves free (`sortedKeys` fixes it).
public struct JSONText {
    public private(set) var bytes: [UInt8] = []
    let sortedKeys: Bool

    public init(sortedKeys: Bool = false, capacity: Int = 256) {
        self.sortedKeys = sortedKeys
        bytes.reserveCapacity(capacity)
    }

    public var string: String { String(decoding: bytes, as: UTF8.self) }

    public mutating func raw(_ text: StaticString) {
        text.withUTF8Buffer { bytes.append(contentsOf: $0) }
    }

    public mutating func value(_ value: JSONValue) {
        switch value {
        case .null: raw("null")
        case .bool(let flag): flag ? raw("true") : raw("false")
        case .number(let number): self.number(number)
        case .string(let text): string(text)
        case .array(let items):
            bytes.append(UInt8(ascii: "["))
            for (index, item) in items.enumerated() {
                if index > 0 { bytes.append(UInt8(ascii: ",")) }
                self.value(item)
            }
            bytes.append(UInt8(ascii: "]"))
        case .object(let members):
            bytes.append(UInt8(ascii: "{"))
            var first = true
            if sortedKeys {
                for key in members.keys.sorted() {
                    member(key, members[key] ?? .null, first: &first)
                }
            } else {
                for (key, member) in members { self.member(key, member, first: &first) }
            }
            bytes.append(UInt8(ascii: "}"))
        }
    }

    private mutating func member(_ key: String, _ value: JSONValue, first: inout Bool) {
        if !first { bytes.append(UInt8(ascii: ",")) }
        first = false
        string(key)
        bytes.append(UInt8(ascii: ":"))
        self.value(value)
    }

    /// `"key":` after a `,` unless it opens the object.
    public mutating func key(_ key: StaticString, first: Bool = false) {
        if !first { bytes.append(UInt8(ascii: ",")) }
        bytes.append(UInt8(ascii: "\""))
        raw(key)
        raw("\":")
    }

    public mutating func number(_ number: Double) {
        guard number.isFinite else { return raw("null") }
        if number.rounded() == number, abs(number) < 9.0e15 {
            integer(Int64(number))
        } else {
            bytes.append(contentsOf: number.description.utf8)
        }
    }

    public mutating func integer<Integer: BinaryInteger>(_ number: Integer) {
        bytes.append(contentsOf: String(number).utf8)
    }

    private static let hexDigits: [UInt8] = Array("0123456789abcdef".utf8)

    public mutating func string(_ text: String) {
        bytes.append(UInt8(ascii: "\""))
        var text = text
        text.withUTF8 { utf8 in
            var start = 0
            for index in 0..<utf8.count {
                let byte = utf8[index]
                guard byte < 0x20 || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") else { continue }
                bytes.append(contentsOf: UnsafeBufferPointer(rebasing: utf8[start..<index]))
                start = index + 1
                bytes.append(UInt8(ascii: "\\"))
                switch byte {
                case UInt8(ascii: "\""): bytes.append(UInt8(ascii: "\""))
                case UInt8(ascii: "\\"): bytes.append(UInt8(ascii: "\\"))
                case 0x0A: bytes.append(UInt8(ascii: "n"))
                case 0x0D: bytes.append(UInt8(ascii: "r"))
                case 0x09: bytes.append(UInt8(ascii: "t"))
                case 0x08: bytes.append(UInt8(ascii: "b"))
                case 0x0C: bytes.append(UInt8(ascii: "f"))
                default:
                    raw("u00")
                    bytes.append(Self.hexDigits[Int(byte >> 4)])
                    bytes.append(Self.hexDigits[Int(byte & 0x0F)])
                }
            }
            bytes.append(contentsOf: UnsafeBufferPointer(rebasing: utf8[start..<utf8.count]))
        }
        bytes.append(UInt8(ascii: "\""))
    }
}

extension JSONValue {
    /// Compact JSON text (sorted keys, so equal values give equal text).
    public var jsonString: String {
        var text = JSONText(sortedKeys: true)
        text.value(self)
        return text.string
    }

    /// Compact JSON text in UTF-8, keys in any order.
    public var jsonBytes: [UInt8] {
        var text = JSONText()
        text.value(self)
        return text.bytes
    }
}
