import Foundation

/// Public identifiers are `{prefix}_{32 lowercase hex}`: a UUIDv7 without dashes, so ids sort by
/// creation time and can be validated by shape before any lookup.
public enum IDPrefix: String, Sendable, CaseIterable {
    case agent, session, message, event, turn, provider, model, org, harness, exec, task, user, apikey
}

public enum PublicID {
    public static func make(_ prefix: IDPrefix, now: Date = Date()) -> String {
        "\(prefix.rawValue)_\(uuidV7Hex(now: now))"
    }

    public static func isValid(_ id: String, prefix: IDPrefix) -> Bool {
        let expected = prefix.rawValue + "_"
        guard id.hasPrefix(expected) else { return false }
        let hex = id.utf8.dropFirst(expected.utf8.count)
        return hex.count == 32 && hex.allSatisfy { (0x30...0x39).contains($0) || (0x61...0x66).contains($0) }
    }

    /// The smallest id of `prefix` made at `date`: ids are UUIDv7 (time first), so every id made
    /// before `date` sorts below it and every one made at or after it, not (byte order).
    public static func lowerBound(_ prefix: IDPrefix, at date: Date) -> String {
        let millis = UInt64(max(0, date.timeIntervalSince1970 * 1000))
        let hex = String(millis, radix: 16)
        return "\(prefix.rawValue)_" + String(repeating: "0", count: max(0, 12 - hex.count)) + hex
            + String(repeating: "0", count: 20)
    }

    static func uuidV7Hex(now: Date) -> String {
        let millis = UInt64(max(0, now.timeIntervalSince1970 * 1000))
        var bytes = [UInt8](repeating: 0, count: 16)
        for index in 0..<6 { bytes[index] = UInt8(truncatingIfNeeded: millis >> (8 * (5 - index))) }
        var generator = SystemRandomNumberGenerator()
        for index in 6..<16 { bytes[index] = UInt8.random(in: 0...255, using: &generator) }
        bytes[6] = (bytes[6] & 0x0F) | 0x70
        bytes[8] = (bytes[8] & 0x3F) | 0x80
        return bytes.map { byte in
            let digits = Array("0123456789abcdef")
            return String([digits[Int(byte >> 4)], digits[Int(byte & 0x0F)]])
        }.joined()
    }
}

/// The fixed tenancy anchors used until authentication and multi-tenancy arrive.
public enum BuiltIn {
    public static let organizationID = "org_00000000000000000000000000000001"
    public static let genericHarnessID = "harness_00000000000000000000000000000001"
    public static let genericHarnessName = "generic"
    public static let genericHarnessPrompt = "You are a helpful assistant."
}
