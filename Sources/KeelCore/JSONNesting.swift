/// Nesting depth of JSON, measured before and after decoding.
///
/// Foundation's decoder accepts up to 512 levels, but a value stored near that limit cannot be
/// read back once it is wrapped in an event or a response (the wrapper adds levels), so a
/// session would answer 500 on every read. Every value that can reach storage from outside
/// (request bodies, tool-call arguments from a model) is held to `JSONNesting.maxDepth`.
public enum JSONNesting {
    /// The deepest nesting accepted in an input value: arrays and objects inside arrays and
    /// objects, counting the value itself as level 1.
    public static let maxDepth = 64

    /// The deepest `[`/`{` nesting in JSON text, counted on the raw bytes (brackets inside strings,
    /// escaped quotes included, do not count). Stops counting once `limit` is exceeded, so a
    /// hostile body costs one pass at most; the result is then `limit + 1`. Works on malformed
    /// text too: the decoder reports those errors itself.
    public static func depth(of bytes: UnsafeRawBufferPointer, stoppingAbove limit: Int = maxDepth) -> Int {
        var depth = 0
        var deepest = 0
        var inString = false
        var escaped = false
        for byte in bytes {
            if inString {
                if escaped {
                    escaped = false
                } else if byte == UInt8(ascii: "\\") {
                    escaped = true
                } else if byte == UInt8(ascii: "\"") {
                    inString = false
                }
                continue
            }
            switch byte {
            case UInt8(ascii: "\""):
                inString = true
            case UInt8(ascii: "["), UInt8(ascii: "{"):
                depth += 1
                if depth > deepest {
                    deepest = depth
                    if deepest > limit { return deepest }
                }
            case UInt8(ascii: "]"), UInt8(ascii: "}"):
                depth = max(0, depth - 1)
            default:
                break
            }
        }
        return deepest
    }

    /// `depth(of:)` for text.
    public static func depth(of text: String, stoppingAbove limit: Int = maxDepth) -> Int {
        var text = text
        return text.withUTF8 { depth(of: UnsafeRawBufferPointer($0), stoppingAbove: limit) }
    }
}

extension JSONValue {
    /// Nesting depth of the value: scalars are 0, `[]` and `{}` are 1, `[[1]]` is 2. Stops
    /// descending past `limit` (then answering a number above it), so the walk is bounded on any value.
    public func nestingDepth(stoppingAbove limit: Int = JSONNesting.maxDepth) -> Int {
        let children: [JSONValue]
        switch self {
        case .array(let values): children = values
        case .object(let object): children = Array(object.values)
        default: return 0
        }
        if limit <= 0 { return 1 }
        var deepest = 0
        for child in children {
            deepest = max(deepest, child.nestingDepth(stoppingAbove: limit - 1))
            if deepest > limit - 1 { break }
        }
        return deepest + 1
    }

    /// Whether the value nests deeper than `JSONNesting.maxDepth`.
    public var isTooDeep: Bool { nestingDepth() > JSONNesting.maxDepth }
}
