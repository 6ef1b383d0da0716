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
