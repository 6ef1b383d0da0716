/// Byte-limited output must not end in half a character.
enum UTF8Truncation {
    /// Drops a multi-byte UTF-8 sequence cut off at the end of `bytes`, so text truncated at a
    /// byte limit ends cleanly instead of with a replacement character (and still validates as
    /// UTF-8 when sniffed).
    static func trimIncompleteTail(_ bytes: [UInt8]) -> [UInt8] {
        guard let leadIndex = bytes.indices.suffix(4).last(where: { bytes[$0] & 0xC0 != 0x80 }) else { return bytes }
        let lead = bytes[leadIndex]
        let expected = lead < 0x80 ? 1 : lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : lead >= 0xC0 ? 2 : 1
        return bytes.count - leadIndex < expected ? Array(bytes[..<leadIndex]) : bytes
    }

    /// Decodes possibly truncated UTF-8 output, replacing invalid sequences.
    static func decode(_ bytes: [UInt8], truncated: Bool) -> String {
        String(decoding: truncated ? trimIncompleteTail(bytes) : bytes, as: UTF8.self)
    }
}
