/// A minimal protocol-buffers writer: just what `OTLPTraceEncoder` needs (varints, fixed64,
/// length-delimited bytes and nested messages), following the encoding guide
/// (https://protobuf.dev/programming-guides/encoding/).
///
/// Proto3 scalar fields at their default value are omitted by callers, as protoc does; `oneof`
/// members are always written because their presence is the value.
struct ProtobufWriter {
    enum WireType: UInt8 {
        case varint = 0
        case fixed64 = 1
        case lengthDelimited = 2
        case fixed32 = 5
    }

    private(set) var bytes: [UInt8] = []

    init(reservingCapacity capacity: Int = 0) {
        bytes.reserveCapacity(capacity)
    }

    mutating func writeVarint(_ value: UInt64) {
        var value = value
        while value >= 0x80 {
            bytes.append(UInt8(truncatingIfNeeded: value) | 0x80)
            value >>= 7
        }
        bytes.append(UInt8(value))
    }

    mutating func writeTag(_ field: Int, _ wireType: WireType) {
        writeVarint(UInt64(field) << 3 | UInt64(wireType.rawValue))
    }

    /// `int64`, `uint64`, `int32` (non-negative here), `bool` and enum fields. Negative `int64`
    /// values are written as their two's complement (ten bytes), as protobuf requires.
    mutating func writeVarintField(_ field: Int, _ value: UInt64) {
        writeTag(field, .varint)
        writeVarint(value)
    }

    mutating func writeInt64Field(_ field: Int, _ value: Int64) {
        writeVarintField(field, UInt64(bitPattern: value))
    }

    mutating func writeBoolField(_ field: Int, _ value: Bool) {
        writeVarintField(field, value ? 1 : 0)
    }

    /// `fixed64` fields (little-endian).
    mutating func writeFixed64Field(_ field: Int, _ value: UInt64) {
        writeTag(field, .fixed64)
        var little = value.littleEndian
        withUnsafeBytes(of: &little) { bytes.append(contentsOf: $0) }
    }

    /// `double` fields (IEEE 754 binary64, little-endian).
    mutating func writeDoubleField(_ field: Int, _ value: Double) {
        writeFixed64Field(field, value.bitPattern)
    }

    mutating func writeBytesField(_ field: Int, _ value: some Collection<UInt8>) {
        writeTag(field, .lengthDelimited)
        writeVarint(UInt64(value.count))
        bytes.append(contentsOf: value)
    }

    mutating func writeStringField(_ field: Int, _ value: String) {
        writeBytesField(field, value.utf8)
    }

    /// An embedded message: encoded into a scratch writer first so its length can be prefixed.
    mutating func writeMessageField(_ field: Int, _ body: (inout ProtobufWriter) -> Void) {
        var nested = ProtobufWriter()
        body(&nested)
        writeBytesField(field, nested.bytes)
    }
}
