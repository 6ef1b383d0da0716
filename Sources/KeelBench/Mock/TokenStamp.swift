#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// How the `stream` scenario measures a streamed token's trip through Keel: the mock writes the
/// time it sends each content piece into the piece itself (`[t=<ns>]`, CLOCK_MONOTONIC, which
/// every process on the machine shares), and the benchmark, reading Keel's `output.message.delta`
/// frames, subtracts it from the time it read the frame.
public enum TokenStamp {
    static let prefix = Array("[t=".utf8)

    /// Nanoseconds on CLOCK_MONOTONIC (one clock for all processes of the machine).
    public static func now() -> UInt64 {
        var spec = timespec()
        clock_gettime(CLOCK_MONOTONIC, &spec)
        return UInt64(spec.tv_sec) * 1_000_000_000 + UInt64(spec.tv_nsec)
    }

    /// The text of one stamped content piece.
    static func text(_ nanoseconds: UInt64) -> String { "[t=\(nanoseconds)]" }

    static let deltaKey = Array(#""delta":"#.utf8)

    /// The stamps in the `delta` string of an `output.message.delta` event's JSON — not those in
    /// `accumulated`, which repeats every earlier piece of the message.
    public static func scanDelta(_ json: [UInt8]) -> [UInt64] {
        guard let key = json.firstRange(of: deltaKey) else { return [] }
        let value = json[key.upperBound...]
        guard value.first == UInt8(ascii: "\"") else { return [] }
        let text = value.dropFirst()
        // Stamps need no escaping, so the string ends at the first quote that is not escaped.
        var end = text.startIndex
        var escaped = false
        while end < text.endIndex {
            let byte = text[end]
            if escaped {
                escaped = false
            } else if byte == UInt8(ascii: "\\") {
                escaped = true
            } else if byte == UInt8(ascii: "\"") {
                break
            }
            end += 1
        }
        return scan(text[text.startIndex..<end])
    }

    /// Every stamp in `bytes`, in order (a frame may carry several pieces).
    public static func scan(_ bytes: some Collection<UInt8>) -> [UInt64] {
        var stamps: [UInt64] = []
        var matched = 0
        var value: UInt64 = 0
        var digits = 0
        for byte in bytes {
            if matched < prefix.count {
                matched = byte == prefix[matched] ? matched + 1 : (byte == prefix[0] ? 1 : 0)
                value = 0
                digits = 0
            } else if byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9"), digits < 19 {
                value = value * 10 + UInt64(byte - UInt8(ascii: "0"))
                digits += 1
            } else {
                if byte == UInt8(ascii: "]"), digits > 0 { stamps.append(value) }
                matched = byte == prefix[0] ? 1 : 0
                value = 0
                digits = 0
            }
        }
        return stamps
    }
}
